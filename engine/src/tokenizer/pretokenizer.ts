// Pre-tokenizers of tokenizer.json (the regex splits that run before BPE). They split a string into
// pieces whose concatenation is the input; BPE then runs on each piece independently.
import { GPT2_PATTERN, onigToJs } from './regex';
import { BytefillError } from '../core/types';
import { assertSafePattern, checkCompiledSplit, splitBudgetMs } from './regex-safety';

export interface PreTokenizer {
  split(text: string): string[];
  /** The character offsets at which the pieces of split(text) start (no piece strings made for one pattern). */
  starts(text: string): number[];
  /** A space is prepended to the whole text before splitting (ByteLevel add_prefix_space). */
  readonly addPrefixSpace: boolean;
  /** Every regular expression the split runs (for character classes, see char-class.ts). */
  readonly patterns: readonly RegExp[];
}

type Step = (piece: string) => string[];

/**
 * The isolated split of text by re, piece by piece in order (the text between matches, and each
 * non-empty match), as character ranges: piece(start, end).
 */
function isolatedPieces(re: RegExp, text: string, piece: (start: number, end: number) => void): void {
  let last = 0;
  re.lastIndex = 0;
  // A time budget checked between matches (see regex-safety.ts): a slow split fails instead of
  // running on; one match cannot be interrupted, the load-time probe keeps those short. The clock
  // starts at the first check, 64 matches in: the many short splits (the byte layer splits a
  // tail and a token per character class) never read it.
  let deadline = Infinity;
  let count = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if ((++count & 63) === 0) {
      const now = performance.now();
      if (deadline === Infinity) deadline = now + splitBudgetMs(text.length);
      else if (now > deadline) throw new BytefillError('MODEL_INVALID', `the tokenizer's pre-tokenizer pattern ran past its time budget (${Math.round(splitBudgetMs(text.length))} ms for ${text.length} characters)`);
    }
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) piece(last, m.index);
    piece(m.index, m.index + m[0].length);
    last = m.index + m[0].length;
  }
  if (last < text.length) piece(last, text.length);
}

function regexIsolated(re: RegExp): Step {
  return (text) => {
    const out: string[] = [];
    isolatedPieces(re, text, (start, end) => out.push(text.slice(start, end)));
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
  // Every splitting step runs one pattern: with one pattern, the split is that pattern's alone.
  const only = patterns.length === 1 ? patterns[0] : null;
  return {
    addPrefixSpace: prefixSpace.value,
    patterns,
    split,
    starts: (text) => {
      const out: number[] = [];
      if (only && text.length > 0) isolatedPieces(only, text, (start) => out.push(start));
      else {
        let off = 0;
        for (const p of split(text)) out.push(off), (off += p.length);
      }
      return out;
    },
  };
}
