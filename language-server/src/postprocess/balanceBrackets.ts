// Keeps brackets balanced across the cursor: the completion may close a bracket opened
// before the cursor only if the suffix does not already close it; a mismatched closer ends
// the completion. `print(|)` + `x)` -> `x`; `f(|` (no closer after) + `x)` stays `x)`.
import { PostprocessContext, CLOSERS, OPENERS, scanBrackets } from './types';

/** Closers at the start of the suffix that close brackets opened before the cursor, in order. */
export function suffixClosers(suffix: string, languageId: string, limit = 2000): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  scanBrackets(suffix.slice(0, limit), languageId, (ch) => {
    if (ch in OPENERS) stack.push(ch);
    else if (stack.length > 0) stack.pop();
    else out.push(ch);
  });
  return out;
}

export function balanceBrackets(completion: string, ctx: PostprocessContext): string {
  const provided = suffixClosers(ctx.suffix, ctx.languageId);
  const stack: string[] = [];
  let excess = 0;
  let cut = -1;
  scanBrackets(completion, ctx.languageId, (ch, i) => {
    if (ch in OPENERS) {
      stack.push(ch);
      return;
    }
    if (stack.length > 0) {
      if (stack[stack.length - 1] !== CLOSERS[ch]) {
        cut = i; // mismatched: `(]`
        return false;
      }
      stack.pop();
      return;
    }
    // Closes a bracket opened before the cursor: fine unless the suffix closes it already.
    if (provided[excess] === ch) {
      cut = i;
      return false;
    }
    excess++;
  });
  return cut >= 0 ? completion.slice(0, cut) : completion;
}
