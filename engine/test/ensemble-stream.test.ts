// ByteStream: streaming next-byte distributions, checked against fresh cover trees (synthetic LM,
// exact) and the bundled models; the stability of committed pre-token boundaries.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CoverTree } from '../src/byte/cover-tree';
import { VocabIndex } from '../src/byte/vocab-index';
import { OnnxBranchLM } from '../src/byte/onnx-lm';
import { ByteStream } from '../src/byte/byte-stream';
import { stableCommitPoint, tokensBefore } from '../src/byte/lookahead';
import { combine } from '../src/ensemble/combine';
import { ModelBundle } from '../src/bundle/model-bundle';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { utf8Encode } from '../src/tokenizer/utf8';
import { SyntheticLM, tinyTokenizer } from './synthetic';
import { bundledModels, modelDir } from './helpers';
import { documentStartId } from '../src/ensemble/score';
import { mulberry32, randInt } from '../src/core/rng';

/**
 * The synthetic LM made canonical (SyntheticLMOptions.canonical): the valid sequences carry all
 * the mass, so the bits of the bytes telescope to the cover sum. Masking per step also removes
 * valid sequences whose prefix is not canonical, so the texts here avoid runs of whitespace.
 */
const canonicalLM = (tok: Tokenizer, ctxLen: number) => new SyntheticLM(tok.vocabSize, { canonical: { tok, ctxLen } });

const STOP = new Set([0]);
const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/** One walk of a ByteStream over `text` (synthetic LM), checked against a fresh cover tree after every byte. */
interface SyntheticWalk {
  /** Per position i = 0..len: max |stream - tree| of the next-byte distributions. */
  distDiff: number[];
  /** Per position: |sum of the stream's distribution - 1|. */
  sumDiff: number[];
  /** Per position: |stream log P(prefix) - tree log P(prefix)|. */
  logPrefixDiff: number[];
  /** -log2 of the stream's probabilities of the text's bytes, summed. */
  bits: number;
  /** The same from the cover sums: -(log P(text) - log P(empty)) / ln 2. */
  coverBits: number;
  commits: number;
}

const SYNTHETIC_TEXTS = ['abc ab', ' a ab', 'c cab', 'xé a', 'aa bc a'];
const walks = new Map<string, Promise<SyntheticWalk>>();
function syntheticWalk(text: string): Promise<SyntheticWalk> {
  if (!walks.has(text)) {
    walks.set(
      text,
      (async () => {
        const tok = tinyTokenizer();
        const index = new VocabIndex(tok);
        const context = [5, 9];
        const x = utf8Encode(text);
        const lm = canonicalLM(tok, context.length);
        const s = await ByteStream.create(lm, tok, index, lm.ctx(context), context, new Uint8Array(0), { stopIds: STOP });
        const w: SyntheticWalk = { distDiff: [], sumDiff: [], logPrefixDiff: [], bits: 0, coverBits: 0, commits: 0 };
        const treeLM = canonicalLM(tok, context.length);
        const tree = (bytes: Uint8Array) => CoverTree.build(tok, index, treeLM, treeLM.ctx(context), bytes, { stopIds: STOP, uncheckedMass: 0 });
        for (let i = 0; i <= x.length; i++) {
          const t = await tree(x.subarray(0, i));
          const ours = s.nextByteDistribution();
          w.distDiff.push(maxDiff(ours, t.nextByteDistribution()));
          w.sumDiff.push(Math.abs(ours.reduce((a, b) => a + b, 0) - 1));
          // log P(prefix) of the stream (committed tokens + pending covers) = the tree's.
          w.logPrefixDiff.push(Math.abs(s.logPrefixProb() - t.logPrefixProb()));
          if (i < x.length) {
            w.bits -= Math.log2(ours[x[i]]);
            await s.push(x[i]);
          }
        }
        w.coverBits = -((await tree(x)).logPrefixProb() - (await tree(new Uint8Array(0))).logPrefixProb()) / Math.LN2;
        w.commits = s.stats.commits;
        return w;
      })(),
    );
  }
  return walks.get(text)!;
}
const worst = (xs: number[]) => xs.reduce((m, x, i) => (x > m.v ? { v: x, at: i } : m), { v: 0, at: -1 });

for (const text of SYNTHETIC_TEXTS) {
  const name = JSON.stringify(text);
  test(`synthetic LM ${name}: every streaming next-byte distribution equals a fresh cover tree's`, async () => {
    const d = worst((await syntheticWalk(text)).distDiff);
    assert.ok(d.v < 1e-9, `${d.v} after ${d.at} bytes`);
  });

  test(`synthetic LM ${name}: every streaming distribution sums to 1`, async () => {
    const d = worst((await syntheticWalk(text)).sumDiff);
    assert.ok(d.v < 1e-9, `${d.v} after ${d.at} bytes`);
  });

  test(`synthetic LM ${name}: the stream's log P(prefix) equals the cover tree's after every byte`, async () => {
    const d = worst((await syntheticWalk(text)).logPrefixDiff);
    assert.ok(d.v < 1e-9, `${d.v} after ${d.at} bytes`);
  });

  test(`synthetic LM ${name}: the bits of the bytes telescope to the cover sum`, async () => {
    const w = await syntheticWalk(text);
    assert.ok(Math.abs(w.bits - w.coverBits) < 1e-9, `${w.bits} vs ${w.coverBits}`);
  });

  if (/ /.test(text.trim())) {
    test(`synthetic LM ${name}: pieces before a space are committed`, async () => {
      assert.ok((await syntheticWalk(text)).commits > 0);
    });
  }
}

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
  const lm = new OnnxBranchLM(b.model);
  const stream = await ByteStream.create(lm, b.tok, b.index, lm.context(pre.state, pre.lastLogits), prompt, new Uint8Array(0), { stopIds: b.template.stopIds, lookahead });
  return { pre, stream };
}

describe('bundled models: streaming against fresh cover trees and ensembles', () => {
  const bundles = bundledModels();
  const hist = utf8Encode('  x = é(1) # ');
  const promptOf = (m: ModelBundle) => [m.template.fim!.prefixId, ...m.tok.encode('def f(x):\n'), m.template.fim!.suffixId, ...m.tok.encode('\n'), m.template.fim!.middleId];

  /** One walk over `hist`: per position, |stream - tree| and |ensemble of the stream with its twin - stream|. */
  const walks = new Map<string, Promise<{ treeDiff: number[]; selfDiff: number[]; commits: number }>>();
  const walk = (name: string) => {
    if (!walks.has(name)) {
      walks.set(
        name,
        (async () => {
          const m = bundles.get(name)!;
          const prompt = promptOf(m);
          const { pre, stream } = await realStream(m, prompt);
          const twin = (await realStream(m, prompt)).stream;
          const treeDiff: number[] = [];
          const selfDiff: number[] = [];
          for (let i = 0; i <= hist.length; i++) {
            const treeLM = new OnnxBranchLM(m.model);
            const tree = await CoverTree.build(m.tok, m.index, treeLM, treeLM.context(pre.state, pre.lastLogits), hist.subarray(0, i), { stopIds: m.template.stopIds, uncheckedMass: 0 });
            const d = stream.nextByteDistribution();
            treeDiff.push(maxDiff(d, tree.nextByteDistribution()));
            const d2 = twin.nextByteDistribution();
            selfDiff.push(Math.max(...(['mixture', 'product'] as const).map((mode) => maxDiff(combine(mode, [d, d2], [0.5, 0.5]), d))));
            if (i < hist.length) {
              await stream.push(hist[i]);
              await twin.push(hist[i]);
            }
          }
          return { treeDiff, selfDiff, commits: stream.stats.commits };
        })(),
      );
    }
    return walks.get(name)!;
  };

  for (const name of ['tiny-code-a', 'tiny-code-b']) {
    test(`${name}: the streaming next-byte distribution equals a fresh cover tree's after every byte`, async () => {
      // Float32 logits through different KV paths (committed tokens vs batched branches) differ
      // in the last digits; probabilities agree to a few 1e-6.
      const d = worst((await walk(name)).treeDiff);
      assert.ok(d.v < 5e-6, `after ${d.at} bytes: ${d.v}`);
    });

    test(`${name}: the stream commits pieces as it goes (at least 3 over the line)`, async () => {
      assert.ok((await walk(name)).commits >= 3);
    });

    test(`${name}: a mixture or product of the model with itself is the model`, async () => {
      const d = worst((await walk(name)).selfDiff);
      assert.ok(d.v < 1e-9, `after ${d.at} bytes: ${d.v}`);
    });
  }

  test('weights (1, 0) give the first model exactly, even across vocabularies', async () => {
    const a = bundles.get('tiny-code-a')!;
    const b = bundles.get('tiny-code-b')!;
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
  });
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
