// Trailing spaces on each line and trailing blank lines are noise in ghost text.
import { PostprocessContext } from './types';

export function trimTrailingWhitespace(completion: string, _ctx: PostprocessContext): string {
  return completion
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n+$/, '');
}
