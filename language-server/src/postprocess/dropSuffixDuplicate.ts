// Drops completion text that the document already has right after the cursor: a completion
// that ends with the rest of the current line, that overlaps the start of the suffix, or
// (multi-line) that reaches a line identical to the next line of the suffix.
import { PostprocessContext, isBlank, lineAfterCursor } from './types';

const MAX_OVERLAP = 400;

export function dropSuffixDuplicate(completion: string, ctx: PostprocessContext): string {
  let out = completion;
  const rest = lineAfterCursor(ctx.suffix);
  const restTrim = rest.trim();

  // 1. Completion ends with the rest of the current line: `foo(|)` + `x)` -> `x`.
  if (restTrim.length > 0) {
    const body = out.trimEnd();
    if (body.endsWith(restTrim)) out = body.slice(0, body.length - restTrim.length);
  }

  // 2. Completion's tail overlaps the suffix's head (at least a few non-blank characters).
  const max = Math.min(out.length, ctx.suffix.length, MAX_OVERLAP);
  for (let k = max; k > 0; k--) {
    const head = ctx.suffix.slice(0, k);
    if (head.trim().length < 3) break;
    if (out.endsWith(head)) {
      out = out.slice(0, out.length - k);
      break;
    }
  }

  // 3. Multi-line: stop at a line equal (indentation included) to the next non-blank suffix line.
  if (out.includes('\n')) {
    const suffixLines = ctx.suffix.split('\n').slice(1);
    const next = suffixLines.find((l) => !isBlank(l));
    if (next !== undefined) {
      const target = next.trimEnd();
      const lines = out.split('\n');
      for (let i = 1; i < lines.length; i++) {
        if (lines[i].trimEnd() === target) {
          out = lines.slice(0, i).join('\n');
          break;
        }
      }
    }
  }
  return out;
}
