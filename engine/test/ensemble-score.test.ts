// scoreBytes: exact bits per byte under one model or an ensemble.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ModelBundle } from '../src/bundle/model-bundle';
import { scoreBytes, documentStartId } from '../src/ensemble/score';
import { ByteStream } from '../src/ensemble/byte-stream';
import { OnnxStreamLM } from '../src/ensemble/stream-lm';
import { utf8Encode } from '../src/tokenizer/utf8';
import { modelDir } from './helpers';

test('byte-level bits <= token-level bits; teacher-forced scoring equals plain streaming; ensembles score', async () => {
  const a = await ModelBundle.load(modelDir('tiny-code-a'), { device: 'cpu' });
  const b = await ModelBundle.load(modelDir('tiny-code-b'), { device: 'cpu' });
  try {
    const text = 'def add(a, b):\n    return a + b\n\n\nclass Foo:\n    x = 1  # é\n';
    const x = utf8Encode(text);
    for (const m of [a, b]) {
      const exact = await scoreBytes([{ bundle: m, weight: 1 }], null, text, { uncheckedMass: 0, lazyMass: 0 });
      assert.equal(exact.bytes, x.length);
      // The byte level marginalises over every tokenization; the token level counts only enc(text).
      assert.ok(exact.bits <= exact.tokenLevelBits!, `${m.name}: ${exact.bits} > ${exact.tokenLevelBits}`);
      assert.ok(exact.bits > 0.8 * exact.tokenLevelBits!, 'close to the token level');
      const fast = await scoreBytes([{ bundle: m, weight: 1 }], null, text);
      assert.ok(Math.abs(fast.bits - exact.bits) < 1e-3, `defaults: ${fast.bits} vs ${exact.bits}`);
      // The same bits from a plain stream (every branch a real forward) after the start token.
      const lm = new OnnxStreamLM(m.model);
      const start = documentStartId(m);
      const s = await ByteStream.create(lm, m.tok, m.index, await lm.start([start]), [start], new Uint8Array(0), { stopIds: m.template.stopIds });
      let bits = 0;
      for (const byte of x) {
        bits -= Math.log2(s.nextByteDistribution()[byte]);
        await s.push(byte);
      }
      assert.ok(Math.abs(bits - exact.bits) < 1e-3, `${m.name}: stream ${bits} vs teacher-forced ${exact.bits}`);
    }
    const mix = await scoreBytes([{ bundle: a, weight: 1 }, { bundle: b, weight: 1 }], 'mixture', text);
    const prod = await scoreBytes([{ bundle: a, weight: 1 }, { bundle: b, weight: 1 }], 'product', text);
    for (const r of [mix, prod]) {
      assert.equal(r.models.length, 2);
      assert.ok(r.bits > 0 && Number.isFinite(r.bits));
      assert.equal(r.tokenLevelBits, undefined);
    }
    // A mixture never loses more than log2(1/w) bits per byte against its best member.
    const single = await scoreBytes([{ bundle: a, weight: 1 }], null, text);
    assert.ok(mix.bits <= single.bits + x.length);
  } finally {
    await a.dispose();
    await b.dispose();
  }
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
