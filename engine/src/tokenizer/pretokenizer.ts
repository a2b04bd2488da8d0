// Pre-tokenizers of tokenizer.json (the regex splits that run before BPE). They split a string into
// pieces whose concatenation is the input; BPE then runs on each piece independently.
import { GPT2_PATTERN, onigToJs } from './regex';
import { BytefillError } from '../core/types';

export interface PreTokenizer {
  split(text: string): string[];
  /** A space is prepended to the whole text before splitting (ByteLevel add_prefix_space). */
  readonly addPrefixSpace: boolean;
}

type Step = (piece: string) => string[];

function regexIsolated(re: RegExp): Step {
  return (piece) => {
    const out: string[] = [];
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(piece); m; m = re.exec(piece)) {
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

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function buildStep(cfg: any, prefixSpace: { value: boolean }): Step | null {
  switch (cfg?.type) {
    case 'ByteLevel':
      if (cfg.add_prefix_space) prefixSpace.value = true;
      return cfg.use_regex === false ? null : regexIsolated(onigToJs(GPT2_PATTERN));
    case 'Split': {
      if ((cfg.behavior ?? 'Isolated') !== 'Isolated' || cfg.invert) {
        throw new BytefillError('UNSUPPORTED', `Split pre-tokenizer behavior '${cfg.behavior}' (invert=${cfg.invert}) is not supported`);
      }
      const re = cfg.pattern?.Regex !== undefined ? onigToJs(cfg.pattern.Regex) : new RegExp(escapeRegex(cfg.pattern?.String ?? ''), 'gu');
      return regexIsolated(re);
    }
    case 'Digits':
      return regexIsolated(cfg.individual_digits ? /\p{N}/gu : /\p{N}+/gu);
    case 'Sequence': {
      const steps = (cfg.pretokenizers as any[]).map((c) => buildStep(c, prefixSpace)).filter((s): s is Step => s !== null);
      return (piece) => steps.reduce<string[]>((pieces, step) => pieces.flatMap(step), [piece]);
    }
    default:
      throw new BytefillError('UNSUPPORTED', `pre-tokenizer type '${cfg?.type}' is not supported (byte-level BPE tokenizers only)`);
  }
}

export function buildPreTokenizer(cfg: unknown): PreTokenizer {
  const prefixSpace = { value: false };
  const step = cfg ? buildStep(cfg, prefixSpace) : null;
  return {
    addPrefixSpace: prefixSpace.value,
    split: (text) => (text.length === 0 ? [] : step ? step(text) : [text]),
  };
}
