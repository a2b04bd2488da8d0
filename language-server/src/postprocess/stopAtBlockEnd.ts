// Multi-line completions stop where the enclosing block ends: for every language by
// indentation (a line dedented below the block), and for bracket languages also when the
// completion closes a '{' that was opened before the cursor (that line is kept, the rest dropped).
import {
  PostprocessContext,
  indentWidth,
  isBlank,
  isIndentLanguage,
  lineBeforeCursor,
  scanBrackets,
  CLOSERS,
} from './types';

const CLOSING_LINE = /^\s*[)\]}]/;

export function stopAtBlockEnd(completion: string, ctx: PostprocessContext): string {
  if (!ctx.multiline || !completion.includes('\n')) return completion;
  const before = lineBeforeCursor(ctx.prefix);
  const lines = completion.split('\n');
  const atEmptyLine = isBlank(before);
  const opener = !atEmptyLine && /[:{[(]\s*$/.test(before);
  const ref = indentWidth(before);

  let keep = lines.length;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (isBlank(line)) continue;
    const ind = indentWidth(line);
    if (opener) {
      // Block body is deeper than the opener line; a line back at the opener's level ends it.
      if (ind <= ref) {
        const closesIt = ind === ref && CLOSING_LINE.test(line) && !isIndentLanguage(ctx.languageId);
        keep = closesIt ? i + 1 : i;
        break;
      }
    } else if (ind < ref) {
      // Dedented below the cursor's block: the enclosing block is over (its closer, if any,
      // is already in the document).
      keep = i;
      break;
    }
  }
  let out = lines.slice(0, keep).join('\n');

  if (!isIndentLanguage(ctx.languageId)) {
    // A '}' that closes a brace opened before the cursor ends the enclosing block: keep its line.
    let depth = 0;
    let cut = -1;
    scanBrackets(out, ctx.languageId, (ch, i) => {
      if (ch === '{') depth++;
      else if (ch === '}') {
        depth--;
        if (depth < 0) {
          cut = i;
          return false;
        }
      } else if (CLOSERS[ch] === undefined) {
        // other openers: ignored here (balanceBrackets handles them)
      }
    });
    if (cut >= 0) {
      const nl = out.indexOf('\n', cut);
      if (nl >= 0) out = out.slice(0, nl);
    }
  }
  return out;
}
