// Small models loop: a line that repeats the previous non-blank line (or, on the first
// line, the line above the cursor) ends the completion there.
import { PostprocessContext, isBlank } from './types';

const MIN_LEN = 8;

export function dropRepeatedLines(completion: string, ctx: PostprocessContext): string {
  if (!completion.includes('\n')) return completion;
  const lines = completion.split('\n');
  const before = ctx.prefix.split('\n');
  // The last complete line above the cursor line.
  let prev = before.length >= 2 ? before[before.length - 2].trim() : '';
  for (let i = 0; i < lines.length; i++) {
    const cur = i === 0 ? (before[before.length - 1] + lines[0]).trim() : lines[i].trim();
    if (isBlank(cur)) continue;
    if (i > 0 && cur.length >= MIN_LEN && cur === prev) return lines.slice(0, i).join('\n');
    prev = cur;
  }
  return completion;
}
