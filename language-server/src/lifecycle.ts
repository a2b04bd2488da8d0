// LSP lifecycle: requests before `initialize` are answered with ServerNotInitialized and requests
// after `shutdown` with InvalidRequest, as the specification asks (they used to be served).
import { ErrorCodes, ResponseError } from 'vscode-languageserver/node';

export type Phase = 'starting' | 'running' | 'shutdown';

export class Lifecycle {
  phase: Phase = 'starting';

  /** Throws the LSP error for a request that arrives outside the running phase. */
  check(method: string): void {
    if (this.phase === 'starting') {
      throw new ResponseError(ErrorCodes.ServerNotInitialized, `${method}: the server is not initialized (send initialize first)`);
    }
    if (this.phase === 'shutdown') {
      throw new ResponseError(ErrorCodes.InvalidRequest, `${method}: the server is shutting down (shutdown was received)`);
    }
  }

  /** Wraps a request handler with check(). */
  gate<A extends unknown[], R>(method: string, handler: (...args: A) => R): (...args: A) => R {
    return (...args: A) => {
      this.check(method);
      return handler(...args);
    };
  }
}
