// What the user sees for an engine failure, chosen by its code (pure; unit-tested).
import type { EngineErrorName } from '../../language-server/src/index';

export type ErrorAction = 'Choose model folder' | 'Choose Model…' | 'Use CPU' | 'Show Logs';

export interface ErrorPresentation {
  text: string;
  actions: ErrorAction[];
}

/** A one-line message and the actions that can fix this kind of failure. */
export function presentEngineError(name: EngineErrorName, message: string, models?: string[]): ErrorPresentation {
  const where = models && models.length ? models.join(', ') : 'the bundled model';
  switch (name) {
    case 'MODEL_NOT_FOUND':
    case 'MODEL_INVALID':
    case 'FILE_NOT_FOUND':
      return { text: `bytefill could not load ${where}: ${message}`, actions: ['Choose model folder', 'Show Logs'] };
    case 'TOKENIZER_MISMATCH':
      return { text: `bytefill cannot combine ${where}: ${message}`, actions: ['Choose model folder', 'Show Logs'] };
    case 'PROVIDER_UNAVAILABLE':
      return { text: `bytefill: the chosen device is not available: ${message}`, actions: ['Use CPU', 'Show Logs'] };
    case 'DEVICE_FAILED':
      // The engine already moved to the CPU and retried; this shows only if that failed too.
      return { text: `bytefill: the GPU failed: ${message}`, actions: ['Use CPU', 'Show Logs'] };
    case 'BAD_ARGUMENT':
    case 'UNSUPPORTED':
      return { text: `bytefill: a setting is not supported: ${message}`, actions: ['Show Logs'] };
    case 'ABORTED':
      return { text: `bytefill: cancelled: ${message}`, actions: [] };
    case 'HUB_UNAUTHORIZED':
    case 'HUB_FORBIDDEN':
    case 'HUB_NOT_FOUND':
    case 'OFFLINE':
      return { text: `bytefill could not get ${where}: ${message}`, actions: ['Choose Model…', 'Show Logs'] };
    case 'DOWNLOAD_FAILED':
    case 'CHECKSUM_MISMATCH':
    case 'NO_SPACE':
      return { text: `bytefill could not download ${where}: ${message}`, actions: ['Show Logs'] };
    case 'INTERNAL':
      return { text: `bytefill failed: ${message}`, actions: ['Show Logs'] };
  }
}
