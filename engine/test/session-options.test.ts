// onnxruntime CPU session options chosen by measurement (BENCHMARKS.md, "Session options by
// measurement"): intra-op spinning and the memory pattern off unless asked for, the arena switch
// passed through, and a model gives the same logits whichever options it runs with.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRandomModel, smallQwen2 } from './fixtures/random-model';
import { maxDiff, pseudoIds } from './helpers';
import { OnnxModel } from '../src/index';
import { sessionOptions } from '../src/model/session';

process.env.ORT_DISABLE_TELEMETRY = '1';

const spinning = (o: ReturnType<typeof sessionOptions>): unknown => (o.extra as { session: { intra_op: { allow_spinning: string } } }).session.intra_op.allow_spinning;

let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-session-options-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('CPU sessions do not spin unless BYTEFILL_ORT_SPINNING=1 or the load asks for it', () => {
  const saved = process.env.BYTEFILL_ORT_SPINNING;
  try {
    delete process.env.BYTEFILL_ORT_SPINNING;
    assert.equal(spinning(sessionOptions('cpu', 2, {})), '0');
    assert.equal(spinning(sessionOptions('cpu', 2, { cpu: { spinning: true } })), '1');
    process.env.BYTEFILL_ORT_SPINNING = '1';
    assert.equal(spinning(sessionOptions('cpu', 2, {})), '1');
    assert.equal(spinning(sessionOptions('cpu', 2, { cpu: { spinning: false } })), '0');
  } finally {
    if (saved === undefined) delete process.env.BYTEFILL_ORT_SPINNING;
    else process.env.BYTEFILL_ORT_SPINNING = saved;
  }
});

test('CPU sessions run without the memory pattern unless asked; the arena keeps onnxruntime\'s default unless set', () => {
  const unset = sessionOptions('cpu', 1, {});
  assert.equal(unset.enableMemPattern, false);
  assert.equal('enableCpuMemArena' in unset, false);
  assert.equal(sessionOptions('cpu', 1, { cpu: { memPattern: true } }).enableMemPattern, true);
  assert.equal(sessionOptions('cpu', 1, { cpu: { memArena: false } }).enableCpuMemArena, false);
});

test('a model gives the same logits with spinning, arena and memory pattern changed, and at basic optimisation', async () => {
  const dir = buildRandomModel(path.join(root, 'm'), { ...smallQwen2(9), variants: ['fp32'] }).dir;
  const ids = pseudoIds(24, 3, 4096);
  const run = async (o: Parameters<typeof OnnxModel.load>[1]): Promise<Float32Array> => {
    const m = await OnnxModel.load(dir, { threads: 2, device: 'cpu', cacheOptimized: false, ...o });
    try {
      const p = await m.forward(null, [ids]);
      return (await m.forward(p.state, [[7]])).logits[0][0];
    } finally {
      await m.dispose();
    }
  };
  const ref = await run({});
  assert.ok(maxDiff(await run({ cpu: { spinning: true, memArena: false, memPattern: false } }), ref) < 1e-5);
  assert.ok(maxDiff(await run({ optimizationLevel: 'basic' }), ref) < 1e-4);
});
