// The server's completion pipeline around the engine, as pure functions shared by the LSP
// handler and the evaluation of what users see (evalPipeline.ts): the request shape that the
// single/multi-line decision implies, and the post-processing of the engine's candidates.
import { postprocess } from './postprocess';
import { lineAfterCursor, lineBeforeCursor } from './postprocess/types';

/** Single-line completions need few tokens; cap them to keep latency low. */
export const SINGLE_LINE_MAX_TOKENS = 48;

export interface RequestShape {
  multiline: boolean;
  /** Single-line at the end of a finished line: the answer may be the next line. */
  nextLine: boolean;
  maxTokens: number;
  stop: string[] | undefined;
  stopAfterLeadingWhitespace: boolean | undefined;
}

export function requestShape(prefix: string, suffix: string, multiline: boolean, maxTokens: number): RequestShape {
  // At the end of a finished line a single-line completion may be the next line (after an accept
  // the cursor is there, and "nothing" is the only other answer).
  const nextLine = !multiline && lineAfterCursor(suffix).trim() === '' && lineBeforeCursor(prefix).trim() !== '';
  return {
    multiline,
    nextLine,
    maxTokens: multiline ? maxTokens : Math.min(maxTokens, SINGLE_LINE_MAX_TOKENS),
    stop: multiline ? undefined : ['\n'],
    stopAfterLeadingWhitespace: nextLine || undefined,
  };
}

/** Post-processes each raw candidate; returns the survivors, distinct, in order. */
export function finishCandidates(raws: string[], ctx: { languageId: string; prefix: string; suffix: string }, shape: RequestShape): string[] {
  const items: string[] = [];
  for (const raw of raws) {
    const asNextLine = shape.nextLine && /^[ \t]*\n/.test(raw);
    const out = postprocess(raw, { ...ctx, multiline: shape.multiline || asNextLine });
    if (out !== null && !items.includes(out)) items.push(out);
  }
  return items;
}
