// In single-line mode a completion ends at the first line break.
import { PostprocessContext } from './types';

export function limitToSingleLine(completion: string, ctx: PostprocessContext): string {
  if (ctx.multiline) return completion;
  const nl = completion.indexOf('\n');
  return nl < 0 ? completion : completion.slice(0, nl);
}
