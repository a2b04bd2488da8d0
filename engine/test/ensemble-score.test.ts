// scoreBytes: exact bits per byte under one model or an ensemble.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ModelBundle } from '../src/bundle/model-bundle';
import { scoreBytes, documentStartId, ScoreResult } from '../src/ensemble/score';
import { ByteStream } from '../src/byte/byte-stream';
import { OnnxBranchLM } from '../src/byte/onnx-lm';
import { RowValidity } from '../src/byte/validity';
import { utf8Encode } from '../src/tokenizer/utf8';
import { bundledModels, modelDir } from './helpers';

const TEXT = 'def add(a, b):\n    return a + b\n\n\nclass Foo:\n    x = 1  # é\n';
const X = utf8Encode(TEXT);

describe('scoreBytes on a short Python text', () => {
  const exactMemo = new Map<string, Promise<ScoreResult>>();
  const bundles = bundledModels();
  const m = (name: string) => bundles.get(name)!;
  /** Every candidate checked, nothing left lazy: the exact bits. */
  const exact = (name: string) => {
    if (!exactMemo.has(name)) exactMemo.set(name, scoreBytes([{ bundle: m(name), weight: 1 }], null, TEXT, { uncheckedMass: 0, lazyMass: 0 }));
    return exactMemo.get(name)!;
  };

  for (const name of ['tiny-code-a', 'tiny-code-b']) {
    test(`${name}: every byte of the text is scored`, async () => {
      assert.equal((await exact(name)).bytes, X.length);
    });

    test(`${name}: byte-level bits are at most the token-level bits of encode(text) (it sums over every tokenization)`, async () => {
      const r = await exact(name);
      assert.ok(r.bits <= r.tokenLevelBits!, `${r.bits} > ${r.tokenLevelBits}`);
    });

    test(`${name}: byte-level bits are within 20% of the token level`, async () => {
      const r = await exact(name);
      assert.ok(r.bits > 0.8 * r.tokenLevelBits!, `${r.bits} vs ${r.tokenLevelBits}`);
    });

    test(`${name}: the default (lazy, partly unchecked) scoring is within 1e-3 bits of the exact one`, async () => {
      const fast = await scoreBytes([{ bundle: m(name), weight: 1 }], null, TEXT);
      const r = await exact(name);
      assert.ok(Math.abs(fast.bits - r.bits) < 1e-3, `defaults: ${fast.bits} vs ${r.bits}`);
    });

    test(`${name}: the default scoring gives the same bits with every checked candidate decided one by one`, async () => {
      // By default a row at the end of the bytes takes its invalid candidates from the whole
      // vocabulary's validity, decided a class at a time; audit mode checks them one by one.
      const byClass = await scoreBytes([{ bundle: m(name), weight: 1 }], null, TEXT, { tokenLevel: false });
      RowValidity.audit = true;
      let oneByOne: ScoreResult;
      try {
        oneByOne = await scoreBytes([{ bundle: m(name), weight: 1 }], null, TEXT, { tokenLevel: false });
      } finally {
        RowValidity.audit = false;
      }
      assert.ok(Math.abs(byClass.bits - oneByOne.bits) <= 1e-9 * oneByOne.bits, `by class ${byClass.bits} vs one by one ${oneByOne.bits}`);
    });

    test(`${name}: rows of the next bytes scored in one batched call (prefetch) give the exact bits of one call per row`, async () => {
      const oneByOne = await scoreBytes([{ bundle: m(name), weight: 1 }], null, TEXT, { uncheckedMass: 0, lazyMass: 0, prefetchBytes: 0, planBytes: 0 });
      const r = await exact(name);
      assert.ok(Math.abs(oneByOne.bits - r.bits) < 1e-5, `one call per row ${oneByOne.bits} vs prefetched ${r.bits}`);
    });

    test(`${name}: prefetching the next bytes' rows runs fewer forwards than one call per row`, async () => {
      const oneByOne = await scoreBytes([{ bundle: m(name), weight: 1 }], null, TEXT, { uncheckedMass: 0, lazyMass: 0, prefetchBytes: 0, planBytes: 0, tokenLevel: false });
      const r = await exact(name);
      assert.ok(r.forwards[0] < oneByOne.forwards[0], `prefetched ${r.forwards[0]} vs ${oneByOne.forwards[0]} forwards`);
    });

    test(`${name}: teacher-forced scoring equals a plain stream (every branch a real forward) after the start token`, async () => {
      const b = m(name);
      const lm = new OnnxBranchLM(b.model);
      const start = documentStartId(b);
      const s = await ByteStream.create(lm, b.tok, b.index, await lm.start([start]), [start], new Uint8Array(0), { stopIds: b.template.stopIds });
      let bits = 0;
      for (const byte of X) {
        bits -= Math.log2(s.nextByteDistribution()[byte]);
        await s.push(byte);
      }
      const r = await exact(name);
      assert.ok(Math.abs(bits - r.bits) < 1e-3, `stream ${bits} vs teacher-forced ${r.bits}`);
    });
  }

  for (const mode of ['mixture', 'product'] as const) {
    test(`${mode} of both models: finite positive bits, both members named, no token-level figure`, async () => {
      const r = await scoreBytes([{ bundle: m('tiny-code-a'), weight: 1 }, { bundle: m('tiny-code-b'), weight: 1 }], mode, TEXT);
      assert.equal(r.models.length, 2);
      assert.ok(r.bits > 0 && Number.isFinite(r.bits), String(r.bits));
      assert.equal(r.tokenLevelBits, undefined);
    });
  }

  test('an equal-weight mixture loses at most log2(1/0.5) = 1 bit per byte against a member', async () => {
    const mix = await scoreBytes([{ bundle: m('tiny-code-a'), weight: 1 }, { bundle: m('tiny-code-b'), weight: 1 }], 'mixture', TEXT);
    const single = await scoreBytes([{ bundle: m('tiny-code-a'), weight: 1 }], null, TEXT);
    assert.ok(mix.bits <= single.bits + X.length);
  });
});

test('long documents restart the context window and still score', async () => {
  const b = await ModelBundle.load(modelDir('tiny-code-b'), { device: 'cpu' });
  try {
    const line = 'result = compute(alpha, beta)  # step\n';
    const text = line.repeat(40);
    const r = await scoreBytes([{ bundle: b, weight: 1 }], null, text, { maxContext: 120, keepTokens: 40 });
    assert.ok(r.bits <= r.tokenLevelBits! + 1e-6);
    assert.ok(r.forwards[0] >= 3, 'several windows');
    assert.ok(r.bitsPerByte < 1, `repetitive text is cheap: ${r.bitsPerByte}`);
  } finally {
    await b.dispose();
  }
});
