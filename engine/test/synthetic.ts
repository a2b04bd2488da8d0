// Test fixtures that cannot come from the bundled models: a tiny byte-level BPE vocabulary (so
// brute-force enumeration of token sequences is feasible) and a synthetic deterministic LM over
// it. These are not mocks of product parts: they are the small exact cases the math is checked on.
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { bytesToByteLevel } from '../src/tokenizer/byte-level';
import { BranchScore, BranchScorer } from '../src/byte/branch-scorer';
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

export class SyntheticScorer implements BranchScorer {
  constructor(
    readonly vocabSize: number,
    readonly context: number[] = [],
    readonly salt = 7,
  ) {}
  logp(history: readonly number[]): Float64Array {
    return logSoftmax(syntheticLogits(history, this.vocabSize, this.salt));
  }
  contextLogp(): Float64Array {
    return this.logp(this.context);
  }
  calls = 0;
  async score(branches: number[][]): Promise<Array<BranchScore & { handle: number }>> {
    this.calls++;
    return branches.map((b, handle) => {
      const stepLogp = b.map((id, i) => this.logp([...this.context, ...b.slice(0, i)])[id]);
      return { stepLogp, next: this.logp([...this.context, ...b]), handle };
    });
  }
  async scoreOne(branch: number[]): Promise<BranchScore & { handle: number }> {
    return (await this.score([branch]))[0];
  }
  async extend(): Promise<never> {
    throw new Error('SyntheticScorer has no KV state');
  }
}
