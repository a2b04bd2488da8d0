// The post-processing pipeline: small pure steps applied in order; '' drops the completion.
import { balanceBrackets } from './balanceBrackets';
import { dropEmpty } from './dropEmpty';
import { dropRepeatedLines } from './dropRepeatedLines';
import { dropSuffixDuplicate } from './dropSuffixDuplicate';
import { limitToSingleLine } from './limitToSingleLine';
import { stopAtBlockEnd } from './stopAtBlockEnd';
import { trimTrailingWhitespace } from './trimTrailingWhitespace';
import { PostprocessContext, PostprocessStep } from './types';

export type { PostprocessContext, PostprocessStep } from './types';

export const PIPELINE: ReadonlyArray<[string, PostprocessStep]> = [
  ['limitToSingleLine', limitToSingleLine],
  ['stopAtBlockEnd', stopAtBlockEnd],
  ['dropRepeatedLines', dropRepeatedLines],
  ['dropSuffixDuplicate', dropSuffixDuplicate],
  ['balanceBrackets', balanceBrackets],
  ['trimTrailingWhitespace', trimTrailingWhitespace],
  ['dropEmpty', dropEmpty],
];

const crlf = (s: string): string => (s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s);

/** Runs the pipeline; returns null when the completion was dropped. */
export function postprocess(completion: string, ctx: PostprocessContext, steps = PIPELINE): string | null {
  const c: PostprocessContext = { ...ctx, prefix: crlf(ctx.prefix), suffix: crlf(ctx.suffix) };
  let out = crlf(completion);
  for (const [, step] of steps) {
    out = step(out, c);
    if (out.length === 0) return null;
  }
  return out;
}
