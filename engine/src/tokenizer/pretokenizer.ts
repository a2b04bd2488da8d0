// Pre-tokenizers of tokenizer.json (the regex splits that run before BPE). They split a string into
// pieces whose concatenation is the input; BPE then runs on each piece independently.
import { GPT2_PATTERN, onigToJs } from './regex';
import { BytefillError } from '../core/types';
import { assertSafePattern, checkCompiledSplit, splitBudgetMs } from './regex-safety';

export interface PreTokenizer {
  split(text: string): string[];
  /** Where the pieces of split(text) start, in UTF-16 code units (no piece strings made). */
  starts(text: string): number[];
  /** A space is prepended to the whole text before splitting (ByteLevel add_prefix_space). */
  readonly addPrefixSpace: boolean;
  /** Every regular expression the split runs (for character classes, see char-class.ts). */
  readonly patterns: readonly RegExp[];
}

type Step = (piece: string) => string[];

/** A time budget checked between matches (see regex-safety.ts): a slow split fails instead of running on. */
function checkBudget(count: number, deadline: number, length: number): void {
  if ((count & 63) === 0 && performance.now() > deadline) {
    throw new BytefillError('MODEL_INVALID', `the tokenizer's pre-tokenizer pattern ran past its time budget (${Math.round(splitBudgetMs(length))} ms for ${length} characters)`);
  }
}

function regexIsolated(re: RegExp): Step {
  return (piece) => {
    const out: string[] = [];
    let last = 0;
    re.lastIndex = 0;
    // One match cannot be interrupted; the load-time probe keeps those short.
    const deadline = performance.now() + splitBudgetMs(piece.length);
    let count = 0;
    for (let m = re.exec(piece); m; m = re.exec(piece)) {
      checkBudget(++count, deadline, piece.length);
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      if (m.index > last) out.push(piece.slice(last, m.index));
      out.push(m[0]);
      last = m.index + m[0].length;
    }
    if (last < piece.length) out.push(piece.slice(last));
    return out;
  };
}

/**
 * The piece starts of regexIsolated(re) without its match arrays and piece strings (the byte layer
 * splits short strings many times per byte): where a match starts right at the previous piece's
 * end (a gap-free split, the usual case), a sticky copy of the pattern tried there finds the same
 * match as the search (leftmost, same alternatives in the same order) and only its end is read;
 * elsewhere (a gap, an empty match) the search runs as in regexIsolated.
 */
function regexStarts(re: RegExp): (text: string) => number[] {
  const sticky = new RegExp(re.source, re.flags.replace('g', '') + 'y');
  return (text) => {
    const out: number[] = [];
    let last = 0;
    const deadline = performance.now() + splitBudgetMs(text.length);
    let count = 0;
    while (last < text.length) {
      checkBudget(++count, deadline, text.length);
      sticky.lastIndex = last;
      if (sticky.test(text) && sticky.lastIndex > last) {
        out.push(last);
        last = sticky.lastIndex;
        continue;
      }
      re.lastIndex = last;
      let m = re.exec(text);
      while (m && m[0].length === 0) {
        checkBudget(++count, deadline, text.length);
        re.lastIndex++;
        m = re.exec(text);
      }
      if (!m) {
        out.push(last);
        break;
      }
      if (m.index > last) out.push(last);
      out.push(m.index);
      last = m.index + m[0].length;
    }
    return out;
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function buildStep(cfg: any, prefixSpace: { value: boolean }, patterns: RegExp[]): Step | null {
  const regex = (re: RegExp): Step => (patterns.push(re), regexIsolated(re));
  switch (cfg?.type) {
    case 'ByteLevel':
      if (cfg.add_prefix_space) prefixSpace.value = true;
      return cfg.use_regex === false ? null : regex(onigToJs(GPT2_PATTERN));
    case 'Split': {
      if ((cfg.behavior ?? 'Isolated') !== 'Isolated' || cfg.invert) {
        throw new BytefillError('UNSUPPORTED', `Split pre-tokenizer behavior '${cfg.behavior}' (invert=${cfg.invert}) is not supported`);
      }
      if (cfg.pattern?.Regex !== undefined) {
        const where = 'pre_tokenizer Split pattern';
        if (typeof cfg.pattern.Regex !== 'string') throw new BytefillError('MODEL_INVALID', `${where} must be a string`);
        assertSafePattern(cfg.pattern.Regex, where);
        const step = regex(onigToJs(cfg.pattern.Regex));
        checkCompiledSplit(step, where);
        return step;
      }
      return regex(new RegExp(escapeRegex(String(cfg.pattern?.String ?? '')), 'gu'));
    }
    case 'Digits':
      return regex(cfg.individual_digits ? /\p{N}/gu : /\p{N}+/gu);
    case 'Sequence': {
      if (!Array.isArray(cfg.pretokenizers) || cfg.pretokenizers.length > 64) {
        throw new BytefillError('MODEL_INVALID', 'pre_tokenizer Sequence must be a list of at most 64 steps');
      }
      const steps = (cfg.pretokenizers as any[]).map((c) => buildStep(c, prefixSpace, patterns)).filter((s): s is Step => s !== null);
      return (piece) => steps.reduce<string[]>((pieces, step) => pieces.flatMap(step), [piece]);
    }
    default:
      throw new BytefillError('UNSUPPORTED', `pre-tokenizer type '${cfg?.type}' is not supported (byte-level BPE tokenizers only)`);
  }
}

export function buildPreTokenizer(cfg: unknown): PreTokenizer {
  const prefixSpace = { value: false };
  const patterns: RegExp[] = [];
  const step = cfg ? buildStep(cfg, prefixSpace, patterns) : null;
  const split = (text: string): string[] => (text.length === 0 ? [] : step ? step(text) : [text]);
  // One pattern: the whole split is that pattern's regexIsolated (a Sequence's other steps split nothing).
  const one = step && patterns.length === 1 ? regexStarts(patterns[0]) : null;
  const starts = (text: string): number[] => {
    if (text.length === 0) return [];
    if (one) return one(text);
    if (!step) return [0];
    const out: number[] = [];
    let off = 0;
    for (const p of step(text)) {
      out.push(off);
      off += p.length;
    }
    return out;
  };
  return { addPrefixSpace: prefixSpace.value, patterns, split, starts };
}
