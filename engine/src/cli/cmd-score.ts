import { BytefillError, Logger } from '../api/types';

export async function runScore(_argv: string[], _log: Logger): Promise<number> {
  throw new BytefillError('UNSUPPORTED', 'score is being wired up');
}
