// Telescoped scoring of one model (scoreBytes `telescoped`, ByteStream `rowsOnDemand`): the bits
// from the prefix mass at the ends of the context windows, against the per-byte product.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { scoreBytes, documentStartId, ScoreOptions } from '../src/ensemble/score';
import { ByteStream, ByteStreamOptions } from '../src/byte/byte-stream';
import { VocabIndex } from '../src/byte/vocab-index';
import { OnnxBranchLM } from '../src/byte/onnx-lm';
import { utf8Encode } from '../src/tokenizer/utf8';
import { SyntheticLM, tinyTokenizer } from './synthetic';
import { bundledModels } from './helpers';

const STOP = new Set([0]);

/**
 * A synthetic LM that gives non-canonical continuations no mass (the valid covers keep all of it),
 * the per-byte bits and the telescoped bits of `text` after the context [5, 9]. With restarts the
 * context keeps 2 tokens, which the LM treats as its fixed context, so it stays canonical.
 */
async function syntheticBits(text: string, restart: Pick<ByteStreamOptions, 'maxContext' | 'keepTokens'>): Promise<{ perByte: number; telescoped: number; restarts: number }> {
  const tok = tinyTokenizer();
  const index = new VocabIndex(tok);
  const context = [5, 9];
  const x = utf8Encode(text);
  const stream = async (rowsOnDemand: boolean) => {
    const lm = new SyntheticLM(tok.vocabSize, { canonical: { tok, ctxLen: context.length } });
    return ByteStream.create(lm, tok, index, lm.ctx(context), context, new Uint8Array(0), { stopIds: STOP, ...restart, rowsOnDemand });
  };
  const s = await stream(false);
  let perByte = 0;
  for (const byte of x) {
    perByte -= Math.log2(s.nextByteDistribution()[byte]);
    await s.push(byte);
  }
  const t = await stream(true);
  for (const byte of x) await t.push(byte);
  return { perByte, telescoped: -(await t.telescopedLogProb()) / Math.LN2, restarts: t.stats.restarts };
}

for (const text of ['abc ab', ' a ab', 'xé a', 'aa bc a']) {
  test(`synthetic canonical LM ${JSON.stringify(text)}: the telescoped bits equal the per-byte product`, async () => {
    const r = await syntheticBits(text, {});
    assert.ok(Math.abs(r.telescoped - r.perByte) < 1e-9, `${r.telescoped} vs ${r.perByte}`);
  });
}

test('synthetic canonical LM through several window restarts: the telescoped bits equal the per-byte product', async () => {
  const r = await syntheticBits('abc ab ca bc aab cc a abc', { maxContext: 5, keepTokens: 2 });
  assert.ok(r.restarts >= 2, `${r.restarts} restarts`);
  assert.ok(Math.abs(r.telescoped - r.perByte) < 1e-9, `${r.telescoped} vs ${r.perByte}`);
});

const TEXT = 'def add(a, b):\n    return a + b\n\n\nclass Foo:\n    x = 1  # é\n';
const X = utf8Encode(TEXT);
const EXACT: ScoreOptions = { uncheckedMass: 0, lazyMass: 0, tokenLevel: false };

describe('telescoped scoring under the bundled models', () => {
  const bundles = bundledModels();
  const one = (name: string) => [{ bundle: bundles.get(name)!, weight: 1 }];

  /**
   * A plain stream (every branch a real forward) that scores every row as bytes arrive: its
   * log P(prefix) before and after the text, and the per-byte log-probability of each byte next to
   * the change of log P(prefix) it caused.
   */
  const walks = new Map<string, Promise<{ startLog: number; endLog: number; steps: Array<{ logp: number; dLog: number }> }>>();
  const scheduledWalk = (name: string) => {
    if (!walks.has(name)) walks.set(name, walk(name));
    return walks.get(name)!;
  };
  async function walk(name: string): Promise<{ startLog: number; endLog: number; steps: Array<{ logp: number; dLog: number }> }> {
    const b = bundles.get(name)!;
    const lm = new OnnxBranchLM(b.model);
    const start = documentStartId(b);
    const s = await ByteStream.create(lm, b.tok, b.index, await lm.start([start]), [start], new Uint8Array(0), { stopIds: b.template.stopIds, uncheckedMass: 0, lazyMass: 0 });
    const startLog = s.logPrefixProb();
    let prev = startLog;
    const steps: Array<{ logp: number; dLog: number }> = [];
    for (const byte of X) {
      const logp = Math.log(s.nextByteDistribution()[byte]);
      await s.push(byte);
      const now = s.logPrefixProb();
      steps.push({ logp, dLog: now - prev });
      prev = now;
    }
    return { startLog, endLog: prev, steps };
  }

  for (const name of ['tiny-code-a', 'tiny-code-b']) {
    test(`${name}: rows scored only at the end give the prefix mass of a stream that scores every row (1e-6)`, async () => {
      const t = await scoreBytes(one(name), null, TEXT, { ...EXACT, telescoped: true });
      const w = await scheduledWalk(name);
      const want = -(w.endLog - w.startLog) / Math.LN2;
      assert.ok(Math.abs(t.bits - want) <= 1e-6 * want, `${t.bits} vs ${want}`);
    });

    test(`${name}: per byte, the prefix mass falls at least as much as the byte's probability (invalid continuations lose mass)`, async () => {
      const w = await scheduledWalk(name);
      const worst = w.steps.reduce((m, s, i) => (s.dLog - s.logp > m.v ? { v: s.dLog - s.logp, at: i } : m), { v: -Infinity, at: -1 });
      assert.ok(worst.v <= 1e-9, `log-mass step above log p by ${worst.v} at byte ${worst.at}`);
    });

    test(`${name}: the telescoped bits are at least the per-byte bits and within 1% of them`, async () => {
      const t = await scoreBytes(one(name), null, TEXT, { ...EXACT, telescoped: true });
      const p = await scoreBytes(one(name), null, TEXT, EXACT);
      assert.ok(t.bits >= p.bits - 1e-6 * p.bits, `${t.bits} < ${p.bits}`);
      assert.ok(t.bits <= 1.01 * p.bits, `${t.bits} vs ${p.bits}`);
    });

    test(`${name}: telescoped scoring runs at most a fifth of the forwards of per-byte rows scored as they are found`, async () => {
      const t = await scoreBytes(one(name), null, TEXT, { ...EXACT, telescoped: true });
      // Without a plan of the document's rows (planBytes 0) each row found needs its own forward.
      const p = await scoreBytes(one(name), null, TEXT, { ...EXACT, planBytes: 0 });
      assert.ok(5 * t.forwards[0] <= p.forwards[0], `telescoped ${t.forwards[0]} vs per-byte ${p.forwards[0]} forwards`);
    });

    test(`${name}: countEnd adds the same -log2 p(END) as the per-byte path`, async () => {
      const t0 = await scoreBytes(one(name), null, TEXT, { ...EXACT, telescoped: true });
      const t1 = await scoreBytes(one(name), null, TEXT, { ...EXACT, telescoped: true, countEnd: true });
      const p0 = await scoreBytes(one(name), null, TEXT, EXACT);
      const p1 = await scoreBytes(one(name), null, TEXT, { ...EXACT, countEnd: true });
      assert.ok(Math.abs(t1.bits - t0.bits - (p1.bits - p0.bits)) < 1e-6, `${t1.bits - t0.bits} vs ${p1.bits - p0.bits}`);
    });
  }

  test('through several window restarts the telescoped bits stay at least the per-byte bits and within 1% (tiny-code-b)', async () => {
    const text = 'result = compute(alpha, beta)  # step\n'.repeat(12);
    const restart = { maxContext: 60, keepTokens: 20 };
    const t = await scoreBytes(one('tiny-code-b'), null, text, { ...EXACT, ...restart, telescoped: true });
    const p = await scoreBytes(one('tiny-code-b'), null, text, { ...EXACT, ...restart });
    assert.ok(t.forwards[0] >= 4, `${t.forwards[0]} forwards: the windows and their end rows`);
    assert.ok(t.bits >= p.bits - 1e-6 * p.bits, `${t.bits} < ${p.bits}`);
    assert.ok(t.bits <= 1.01 * p.bits, `${t.bits} vs ${p.bits}`);
  });

  test('telescoped scoring refuses an ensemble (mixtures of conditionals do not telescope)', async () => {
    await assert.rejects(scoreBytes([...one('tiny-code-a'), ...one('tiny-code-b')], 'mixture', TEXT, { telescoped: true }), /one model/);
  });
});
