// vscode-languageclient error handler: restart a crashed server per RestartPolicy.
import { CloseAction, CloseHandlerResult, ErrorAction, ErrorHandler, ErrorHandlerResult } from 'vscode-languageclient/node';
import { RestartPolicy } from './restartPolicy';

export class RestartingErrorHandler implements ErrorHandler {
  private readonly policy: RestartPolicy;

  constructor(
    maxRestarts = 5,
    windowMs = 3 * 60 * 1000,
    private readonly onGiveUp: () => void = () => undefined,
  ) {
    this.policy = new RestartPolicy(maxRestarts, windowMs);
  }

  error(_error: Error, _message: unknown, count: number | undefined): ErrorHandlerResult {
    // Transport errors: keep going unless they pile up.
    return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
  }

  closed(): CloseHandlerResult {
    if (this.policy.shouldRestart()) return { action: CloseAction.Restart, handled: true };
    this.onGiveUp();
    return {
      action: CloseAction.DoNotRestart,
      message: `The bytefill server stopped ${this.policy.max} times in a few minutes; it will not be restarted. See "bytefill: Show Logs".`,
    };
  }
}
