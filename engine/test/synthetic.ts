// Test fixtures that cannot come from the bundled models: a tiny byte-level BPE vocabulary (so
// brute-force enumeration of token sequences is feasible) and the synthetic deterministic LM over
// it (the one test implementation of the byte layer's BranchLM). These are not mocks of product parts: they are the small exact cases the math is checked on.
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { bytesToByteLevel } from '../src/tokenizer/byte-level';
import { BranchLM, LMContext, newStats, ScoredBranch, stepLogps } from '../src/byte/lm';
import { LogDist } from '../src/byte/log-dist';
import { concatBytes } from '../src/tokenizer/utf8';
import { logSoftmax } from '../src/decode/distribution';

export function tinyTokenizer(merges: string[] = ['a b', 'ab c', 'Ġ a', 'Ġa b', 'b c', 'c c', 'a a', 'Ã ©', 'Ġ Ġ', 'ĠĠ Ġ', 'x Ã©']): Tokenizer {
  const vocab: Record<string, number> = { '<|endoftext|>': 0 };
  let id = 1;
  for (let b = 0; b < 256; b++) vocab[bytesToByteLevel(Uint8Array.of(b))] = id++;
  for (const m of merges) {
    const tok = m.replace(' ', '');
    if (!(tok in vocab)) vocab[tok] = id++;
  }
  return Tokenizer.fromJSON({
    added_tokens: [{ id: 0, content: '<|endoftext|>', special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
    model: { type: 'BPE', vocab, merges, ignore_merges: false },
  });
}

function hash(ids: readonly number[], salt: number): number {
  let h = 2166136261 ^ salt;
  for (const x of ids) {
    h ^= x + 0x9e3779b9;
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Deterministic pseudo-random next-token logits given the full token history. */
export function syntheticLogits(history: readonly number[], vocabSize: number, salt = 7): Float32Array {
  const out = new Float32Array(vocabSize);
  let s = hash(history, salt);
  for (let i = 0; i < vocabSize; i++) {
    s = Math.imul(s ^ (s >>> 13), 0x5bd1e995) >>> 0;
    out[i] = ((s % 10000) / 10000) * 6 - 3;
  }
  return out;
}

export interface SyntheticLMOptions {
  /** Seeds the logits (default 7). */
  salt?: number;
  /**
   * A perfectly trained model: after the fixed context (the first ctxLen tokens), a token that
   * would make the text's token sequence non-canonical gets probability 0. Then the valid sequences
   * carry all the mass, and the product of next-byte probabilities telescopes exactly to the sum
   * over covers. (A model with mass on non-canonical sequences loses that mass at every step's
   * normalisation.) Masking per step also removes valid sequences whose prefix is not canonical
   * (two spaces before a word under GPT-2's pattern).
   */
  canonical?: { tok: Tokenizer; ctxLen: number };
}

/**
 * The synthetic LM (the byte layer's BranchLM): deterministic logits from the whole token
 * history. A context is its token history; score() counts one forward per call (one batch).
 */
export class SyntheticLM implements BranchLM {
  readonly stats = newStats();
  readonly maxPositions = 1 << 30;

  constructor(
    readonly vocabSize: number,
    readonly opts: SyntheticLMOptions = {},
  ) {}

  /** log p(next token | history). */
  logp(history: readonly number[]): Float64Array {
    const logits = syntheticLogits(history, this.vocabSize, this.opts.salt ?? 7);
    const canon = this.opts.canonical;
    if (canon) {
      const middle = history.slice(canon.ctxLen);
      const bytes = canon.tok.decodeBytes(middle);
      for (let id = 1; id < this.vocabSize; id++) {
        const all = [...middle, id];
        const enc = canon.tok.encodeBytes(concatBytes(bytes, canon.tok.tokenBytes(id)));
        if (enc.length !== all.length || enc.some((e, i) => e !== all[i])) logits[id] = -Infinity;
      }
    }
    return logSoftmax(logits);
  }

  /** logp as the byte layer's LM interface hands it out (built from the log-probabilities the brute-force checks read). */
  dist(history: readonly number[]): LogDist {
    return LogDist.fromLogp(this.logp(history));
  }

  /** The context of a token history. */
  ctx(ids: readonly number[]): LMContext & { ids: readonly number[] } {
    return { ids, next: this.dist(ids), length: ids.length };
  }

  async start(ids: number[]): Promise<LMContext> {
    return this.ctx(ids);
  }

  async score(ctx: LMContext, branches: number[][]): Promise<ScoredBranch[]> {
    this.stats.forwards++;
    const base = (ctx as LMContext & { ids: readonly number[] }).ids;
    return branches.map((ids) => {
      const nexts = ids.map((_, i) => this.dist([...base, ...ids.slice(0, i + 1)]));
      return { ids, stepLogp: stepLogps(ctx, ids, nexts), nexts, extend: (m: number) => (m === 0 ? ctx : this.ctx([...base, ...ids.slice(0, m)])) };
    });
  }
}
