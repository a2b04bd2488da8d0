// ByteStream: streaming next-byte distributions, checked against fresh cover trees (synthetic LM,
// exact) and the bundled models; the stability of committed pre-token boundaries.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CoverTree } from '../src/byte/cover-tree';
import { VocabIndex } from '../src/byte/vocab-index';
import { OnnxBranchScorer } from '../src/byte/branch-scorer';
import { ByteStream, stableCommitPoint, tokensBefore } from '../src/ensemble/byte-stream';
import { combine } from '../src/ensemble/combine';
import { BranchOut, LMContext, newStats, OnnxStreamLM, StreamLM } from '../src/ensemble/stream-lm';
import { logSoftmax } from '../src/decode/distribution';
import { ModelBundle } from '../src/bundle/model-bundle';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { concatBytes, utf8Encode } from '../src/tokenizer/utf8';
import { syntheticLogits, tinyTokenizer } from './synthetic';
import { BranchScore, BranchScorer } from '../src/byte/branch-scorer';
import { modelDir } from './helpers';
import { documentStartId } from '../src/ensemble/score';
import { mulberry32, randInt } from '../src/core/rng';

/**
 * The synthetic LM of synthetic.ts, made canonical: after the fixed context (the first ctxLen
 * tokens), a token that would make the text's token sequence non-canonical gets probability 0 (a
 * perfectly trained model). Then the valid sequences carry all the mass, and the product of
 * next-byte probabilities telescopes exactly to the sum over covers. (A model with mass on
 * non-canonical sequences loses that mass at every step's normalisation.) Masking per step also
 * removes valid sequences whose prefix is not canonical (two spaces before a word under GPT-2's
 * pattern), so the texts here avoid runs of whitespace.
 */
function canonicalLogp(tok: Tokenizer, ids: readonly number[], ctxLen: number, salt = 7): Float64Array {
  const logits = syntheticLogits(ids, tok.vocabSize, salt);
  const middle = ids.slice(ctxLen);
  const bytes = tok.decodeBytes(middle);
  for (let id = 1; id < tok.vocabSize; id++) {
    const all = [...middle, id];
    const enc = tok.encodeBytes(concatBytes(bytes, tok.tokenBytes(id)));
    if (enc.length !== all.length || enc.some((e, i) => e !== all[i])) logits[id] = -Infinity;
  }
  return logSoftmax(logits);
}

class CanonicalScorer implements BranchScorer {
  constructor(
    readonly tok: Tokenizer,
    readonly context: number[],
  ) {}
  get vocabSize() {
    return this.tok.vocabSize;
  }
  contextLogp(): Float64Array {
    return canonicalLogp(this.tok, this.context, this.context.length);
  }
  async score(branches: number[][]): Promise<Array<BranchScore & { handle: number }>> {
    return branches.map((b, handle) => {
      const lp = (k: number) => canonicalLogp(this.tok, [...this.context, ...b.slice(0, k)], this.context.length);
      return { stepLogp: b.map((id, i) => lp(i)[id]), next: lp(b.length), handle };
    });
  }
  async scoreOne(branch: number[]): Promise<BranchScore & { handle: number }> {
    return (await this.score([branch]))[0];
  }
  async extend(): Promise<never> {
    throw new Error('no KV state');
  }
}

/** The canonical synthetic LM as a StreamLM (contexts are token histories). */
class SyntheticStreamLM implements StreamLM {
  readonly stats = newStats();
  readonly maxPositions = 1 << 30;
  readonly vocabSize: number;
  constructor(
    readonly tok: Tokenizer,
    readonly ctxLen: number,
  ) {
    this.vocabSize = tok.vocabSize;
  }
  private logp(ids: number[]): Float64Array {
    return canonicalLogp(this.tok, ids, this.ctxLen);
  }
  ctx(ids: number[]): LMContext & { ids: number[] } {
    return { ids, next: this.logp(ids), length: ids.length };
  }
  async start(ids: number[]): Promise<LMContext> {
    return this.ctx(ids);
  }
  async branch(ctx: LMContext, ids: number[]): Promise<BranchOut> {
    this.stats.forwards++;
    const base = (ctx as LMContext & { ids: number[] }).ids;
    const nexts = ids.map((_, i) => this.logp([...base, ...ids.slice(0, i + 1)]));
    return {
      stepLogp: ids.map((id, i) => (i === 0 ? ctx.next[id] : nexts[i - 1][id])),
      nexts,
      extend: (m) => this.ctx([...base, ...ids.slice(0, m)]),
    };
  }
}

const STOP = new Set([0]);
const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test('synthetic LM: streaming distributions equal fresh cover trees, and bits telescope to the cover sum', async () => {
  const tok = tinyTokenizer();
  const index = new VocabIndex(tok);
  const context = [5, 9];
  for (const text of ['abc ab', ' a ab', 'c cab', 'xé a', 'aa bc a']) {
    const x = utf8Encode(text);
    const lm = new SyntheticStreamLM(tok, context.length);
    const s = await ByteStream.create(lm, tok, index, lm.ctx(context), context, new Uint8Array(0), { stopIds: STOP });
    let bits = 0;
    for (let i = 0; i <= x.length; i++) {
      const tree = await CoverTree.build(tok, index, new CanonicalScorer(tok, context), x.subarray(0, i), { stopIds: STOP, uncheckedMass: 0 });
      const ours = s.nextByteDistribution();
      assert.ok(maxDiff(ours, tree.nextByteDistribution()) < 1e-9, `${JSON.stringify(text)} after ${i} bytes`);
      assert.ok(Math.abs(ours.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      // log P(prefix) of the stream (committed tokens + pending covers) = the tree's.
      assert.ok(Math.abs(s.logPrefixProb() - tree.logPrefixProb()) < 1e-9);
      if (i < x.length) {
        bits -= Math.log2(ours[x[i]]);
        await s.push(x[i]);
      }
    }
    const full = await CoverTree.build(tok, index, new CanonicalScorer(tok, context), x, { stopIds: STOP, uncheckedMass: 0 });
    const empty = await CoverTree.build(tok, index, new CanonicalScorer(tok, context), new Uint8Array(0), { stopIds: STOP, uncheckedMass: 0 });
    const expected = -(full.logPrefixProb() - empty.logPrefixProb()) / Math.LN2;
    assert.ok(Math.abs(bits - expected) < 1e-9, `${text}: ${bits} vs ${expected}`);
    assert.ok(s.stats.commits > 0 || !/ /.test(text.trim()), 'pieces were committed');
  }
});

/** Commits as ByteStream does, and checks the committed tokens against the encoding of every prefix. */
function checkStability(tok: Tokenizer, text: Uint8Array, everyPrefix: boolean): void {
  let committed: number[] = [];
  let start = 0;
  for (let i = 1; i <= text.length; i++) {
    const c = stableCommitPoint(tok, text.subarray(start, i));
    if (c > 0) {
      committed = committed.concat(tokensBefore(tok, tok.encodeBytes(text.subarray(start, i)), c)!);
      start += c;
    }
    if (everyPrefix || i === text.length) {
      const enc = tok.encodeBytes(text.subarray(0, i));
      assert.deepEqual(enc.slice(0, committed.length), committed, `prefix ${JSON.stringify(new TextDecoder().decode(text.subarray(0, i)))}`);
      assert.deepEqual(enc, committed.concat(tok.encodeBytes(text.subarray(start, i))));
    }
  }
}

test('committed boundaries are stable under both bundled pre-tokenizers', () => {
  const fuzzChars = ['a', 'b', ' ', '  ', '\n', '\t', "'", "'re", "'ll", '1', '234', '.', '(', ')', 'é', '\u00a0', '\r\n', ':', '_'];
  for (const name of ['tiny-code-a', 'tiny-code-b'] as const) {
    const tok = Tokenizer.fromFile(`${modelDir(name)}/tokenizer.json`);
    const rng = mulberry32(12345);
    for (let k = 0; k < 300; k++) {
      let s = '';
      for (let m = 0; m < 12; m++) s += fuzzChars[randInt(rng, fuzzChars.length)];
      checkStability(tok, utf8Encode(s), true);
    }
    const code = "def f(x):\n    '''Doc.'''\n    y = x + 1  \n    \n    if y > 10:\n        return y  # it's fine\n\n\n    return x\n\nclass A:\n  pass\n";
    checkStability(tok, utf8Encode(code.repeat(3)), false);
  }
});

async function realStream(b: ModelBundle, prompt: number[], lookahead = false) {
  const pre = await b.cache.prefill(prompt);
  const lm = new OnnxStreamLM(b.model);
  const stream = await ByteStream.create(lm, b.tok, b.index, lm.context(pre.state, pre.lastLogits), prompt, new Uint8Array(0), { stopIds: b.template.stopIds, lookahead });
  return { pre, stream };
}

test('bundled models: streaming equals a fresh cover tree; an ensemble of a model with itself is the model', async () => {
  const a = await ModelBundle.load(modelDir('tiny-code-a'), { device: 'cpu' });
  const b = await ModelBundle.load(modelDir('tiny-code-b'), { device: 'cpu' });
  try {
    const hist = utf8Encode('  x = é(1) # ');
    const promptOf = (m: ModelBundle) => [m.template.fim!.prefixId, ...m.tok.encode('def f(x):\n'), m.template.fim!.suffixId, ...m.tok.encode('\n'), m.template.fim!.middleId];
    for (const m of [a, b]) {
      const prompt = promptOf(m);
      const { pre, stream } = await realStream(m, prompt);
      const twin = (await realStream(m, prompt)).stream;
      for (let i = 0; i <= hist.length; i++) {
        const tree = await CoverTree.build(m.tok, m.index, new OnnxBranchScorer(m.model, pre.state, pre.lastLogits), hist.subarray(0, i), { stopIds: m.template.stopIds, uncheckedMass: 0 });
        const ref = tree.nextByteDistribution();
        const d = stream.nextByteDistribution();
        // Float32 logits through different KV paths (committed tokens vs batched branches) differ
        // in the last digits; probabilities agree to a few 1e-6.
        assert.ok(maxDiff(d, ref) < 5e-6, `${m.name} after ${i} bytes: ${maxDiff(d, ref)}`);
        const d2 = twin.nextByteDistribution();
        for (const mode of ['mixture', 'product'] as const) assert.ok(maxDiff(combine(mode, [d, d2], [0.5, 0.5]), d) < 1e-9);
        if (i < hist.length) {
          await stream.push(hist[i]);
          await twin.push(hist[i]);
        }
      }
      assert.ok(stream.stats.commits >= 3);
    }
    // Weights (1, 0) give the first model exactly, even across vocabularies.
    const sa = (await realStream(a, promptOf(a))).stream;
    const sb = (await realStream(b, promptOf(b))).stream;
    for (const byte of utf8Encode('  x')) {
      const da = sa.nextByteDistribution();
      const db = sb.nextByteDistribution();
      assert.ok(maxDiff(combine('mixture', [da, db], [1, 0]), da) < 1e-12);
      assert.ok(maxDiff(combine('product', [da, db], [1, 0]), da) < 1e-12);
      await sa.push(byte);
      await sb.push(byte);
    }
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test('a blank line before code: the tokenization that splits the newlines gets its own rows (tiny-code-a)', async () => {
  const a = await ModelBundle.load(modelDir('tiny-code-a'), { device: 'cpu' });
  try {
    // GPT-2's pattern: "\n\n" alone is one token, but "\n\ndef" is "\n" "\n" "def": the valid
    // sequence has a non-canonical prefix, which prefix-closed covers (CoverTree) never see.
    const prompt = [documentStartId(a)];
    const text = utf8Encode('x = 1\n\n');
    const probs: number[] = [];
    for (const lookahead of [false, true]) {
      const { stream } = await realStream(a, prompt, lookahead);
      for (const byte of text) await stream.push(byte);
      probs.push(stream.nextByteDistribution()[0x64 /* d */]);
    }
    assert.ok(probs[1] > 100 * probs[0] && probs[1] > 1e-3, `P(d) without / with: ${probs}`);
  } finally {
    await a.dispose();
  }
});
