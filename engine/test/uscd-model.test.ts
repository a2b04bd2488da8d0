// USCD against the bundled model tiny-code-b (real onnxruntime, 2 threads).
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Engine, BytefillError, CompletionRequest } from '../src/index';
import { ModelBundle } from '../src/bundle/model-bundle';
import { completeSingle, StepperContext } from '../src/complete/single-model';
import { DEFAULT_BUDGET, preparePrompt, promptIds } from '../src/complete/prompt';
import { PlainStepper, TokenStepper } from '../src/decode/stepper';
import { KVState } from '../src/model/kv-state';
import { buildLamePrompt, completeUscdWith, DEFAULT_USCD_THRESHOLD, uscdStepperFactory, resolveUscdParams, UscdStepper } from '../src/uscd/index';
import { modelDir } from './helpers';

const PREFIX = 'import os\n\n\ndef read_lines(path):\n    """Return the lines of a file."""\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n\n\ndef count_words(text):\n    words = text.split()\n    ret';
const SUFFIX = '\n\n\ndef zqxjv_frobnicate(items):\n    return sorted(items, key=len)\n';
const REQ: CompletionRequest = { prefix: PREFIX, suffix: SUFFIX, maxTokens: 12, stop: ['\n'] };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
function indexOfSeq(hay: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

interface Rec {
  probs: Float64Array;
  s: TokenStepper;
  std?: Float64Array;
  u?: number;
  contrasted: boolean;
}
/** Wraps a stepper so every probs() result (and the stepper's view at that moment) is recorded. */
function recording(make: (ctx: StepperContext) => Promise<TokenStepper>, log: Rec[]) {
  return async (ctx: StepperContext) => {
    const s = await make(ctx);
    const inner = s.probs.bind(s);
    s.probs = (T: number) => {
      const p = inner(T);
      const u = s instanceof UscdStepper ? s : undefined;
      log.push({ probs: p, s, std: u?.rowProbs().std, u: u?.lastUncertainty, contrasted: !!s.lastStepContrasted });
      return p;
    };
    return s;
  };
}
const plainMaker = async (ctx: StepperContext): Promise<TokenStepper> => new PlainStepper(ctx.bundle.model, ctx.state, ctx.logits);

describe('uscd with tiny-code-b', () => {
  let b: ModelBundle;
  before(async () => {
    b = await ModelBundle.load(modelDir('tiny-code-b'), { threads: 2 });
  });
  after(async () => {
    await b?.dispose();
  });

  test('the lame prompt keeps the prefix and the middle, and lacks the suffix and the snippets', () => {
    const req: CompletionRequest = { ...REQ, snippets: [{ path: 'util/helpers.py', text: 'def qwv_snippet_fn():\n    pass\n' }] };
    const std = preparePrompt(b, req, DEFAULT_BUDGET);
    const prefixIds = b.tok.encode(std.prefix);
    const stdIds = promptIds(b, std, prefixIds);
    const middle = b.tok.encode('urn');
    const lame = buildLamePrompt(b, req, DEFAULT_BUDGET, prefixIds, middle);
    const f = b.template.fim!;
    assert.deepEqual(lame.base, [f.prefixId, ...prefixIds, f.suffixId, f.middleId]);
    assert.deepEqual(lame.ids, [...lame.base, ...middle]);
    // The standard prompt holds the suffix and the snippet; the lame one holds neither.
    const sufIds = b.tok.encode(SUFFIX);
    assert.ok(indexOfSeq(stdIds, sufIds) >= 0);
    assert.equal(indexOfSeq(lame.ids, sufIds), -1);
    assert.ok(std.snippetIds.length > 0 && indexOfSeq(stdIds, std.snippetIds) === 0);
    assert.equal(indexOfSeq(lame.ids, std.snippetIds.slice(1)), -1);
    // Ids that only the suffix and the snippet produce (their unusual identifiers) are absent.
    const own = new Set([...prefixIds, ...middle]);
    const only = [...sufIds, ...std.snippetIds].filter((id) => !own.has(id));
    assert.ok(only.length > 3);
    for (const id of only) assert.ok(!lame.ids.includes(id), `token ${id} (${JSON.stringify(b.tok.decode([id]))}) leaked into the lame prompt`);
    assert.ok(indexOfSeq(lame.ids, prefixIds) === 1);
  });

  test('KVState.stack: two prompts of different lengths decode as one batch like each alone', async () => {
    const m = b.model;
    const p1 = b.tok.encode('def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n');
    const p2 = b.tok.encode('x = [1, 2, 3]\n');
    const a = await m.forward(null, [p1]);
    const c = await m.forward(null, [p2]);
    let st = KVState.stack([a.state, c.state]);
    let la = a.state;
    let lc = c.state;
    for (const tok of b.tok.encode('    return')) {
      const r = await m.forward(st, [[tok], [tok]]);
      const ra = await m.forward(la, [[tok]]);
      const rc = await m.forward(lc, [[tok]]);
      assert.ok(maxDiff(r.logits[0][0], ra.logits[0][0]) < 1e-3);
      assert.ok(maxDiff(r.logits[1][0], rc.logits[0][0]) < 1e-3);
      st = r.state;
      la = ra.state;
      lc = rc.state;
    }
  });

  for (const mode of ['token', 'byte'] as const) {
    test(`alpha 0 equals plain decoding (${mode} mode): same completion and same per-step distributions`, async () => {
      const req: CompletionRequest = { ...REQ, mode, stop: undefined, maxTokens: 10 };
      const plainLog: Rec[] = [];
      const uscdLog: Rec[] = [];
      const plain = await completeSingle(b, req, DEFAULT_BUDGET, { makeStepper: recording(plainMaker, plainLog) });
      const params = resolveUscdParams({ alpha: 0, threshold: 0 });
      const uscd = await completeSingle(b, req, DEFAULT_BUDGET, { makeStepper: recording(uscdStepperFactory(req, DEFAULT_BUDGET, params), uscdLog) });
      assert.ok(uscdLog[0].s instanceof UscdStepper, 'the two-row stepper ran');
      assert.ok(plain.completion.length > 0);
      assert.equal(uscd.completion, plain.completion);
      assert.equal(uscd.contrastedSteps, 0);
      assert.equal(uscdLog.length, plainLog.length);
      uscdLog.forEach((r, i) => assert.ok(maxDiff(r.probs, plainLog[i].probs) < 1e-5, `step ${i}`));
    });
  }

  test('confident steps are never changed; uncertain ones are contrasted', async () => {
    const req: CompletionRequest = { ...REQ, mode: 'token', stop: undefined, maxTokens: 24 };
    const log: Rec[] = [];
    const params = resolveUscdParams({ alpha: 0.7 });
    const res = await completeSingle(b, req, DEFAULT_BUDGET, { makeStepper: recording(uscdStepperFactory(req, DEFAULT_BUDGET, params), log) });
    let confident = 0;
    for (const r of log) {
      if (r.u! < DEFAULT_USCD_THRESHOLD) {
        confident++;
        assert.equal(r.contrasted, false);
        assert.ok(maxDiff(r.probs, r.std!) < 1e-12);
      } else {
        assert.equal(r.contrasted, true);
      }
    }
    assert.ok(confident > 0, 'some steps are confident');
    assert.ok(confident < log.length, 'some steps are uncertain');
    assert.equal(res.contrastedSteps, log.filter((r) => r.contrasted).length);
    assert.equal(res.steps, log.length);
  });

  test('threshold 1 contrasts no step, threshold 0 every step', async () => {
    const req: CompletionRequest = { ...REQ, mode: 'token', stop: undefined, maxTokens: 12 };
    const none = await completeUscdWith(b, { ...req, uscd: { enabled: true, threshold: 1 } }, DEFAULT_BUDGET);
    const plain = await completeSingle(b, req, DEFAULT_BUDGET);
    assert.equal(none.contrastedSteps, 0);
    assert.ok(none.steps! > 0);
    assert.equal(none.completion, plain.completion);
    const all = await completeUscdWith(b, { ...req, uscd: { enabled: true, threshold: 0, alpha: 0.3 } }, DEFAULT_BUDGET);
    assert.ok(all.steps! > 0);
    assert.equal(all.contrastedSteps, all.steps);
  });

  test('temperature sampling with USCD is seeded and reproducible', async () => {
    const req: CompletionRequest = { ...REQ, mode: 'token', sampling: { temperature: 0.8, seed: 3 }, uscd: { enabled: true, threshold: 0 } };
    const x = await completeUscdWith(b, req, DEFAULT_BUDGET);
    const y = await completeUscdWith(b, req, DEFAULT_BUDGET);
    assert.equal(x.completion, y.completion);
  });

  test('no suffix and no snippets: the lame prompt is the standard one, decoding is plain', async () => {
    const req: CompletionRequest = { prefix: PREFIX, suffix: '', mode: 'token', maxTokens: 8 };
    const u = await completeUscdWith(b, { ...req, uscd: { enabled: true, threshold: 0 } }, DEFAULT_BUDGET);
    const p = await completeSingle(b, req, DEFAULT_BUDGET);
    assert.equal(u.completion, p.completion);
    assert.equal(u.contrastedSteps, 0);
  });
});

describe('uscd through Engine', () => {
  let engine: Engine;
  before(async () => {
    engine = await Engine.create({ models: [modelDir('tiny-code-b')], threads: 2 });
  });
  after(async () => {
    await engine?.dispose();
  });

  for (const mode of ['token', 'byte'] as const) {
    test(`complete with uscd in ${mode} mode`, async () => {
      const r = await engine.complete({ ...REQ, mode, maxTokens: 16, uscd: { enabled: true } });
      assert.ok(r.completion.length > 0, 'non-empty completion');
      assert.equal(r.mode, mode);
      assert.ok(typeof r.steps === 'number' && r.steps > 0);
      assert.ok(typeof r.contrastedSteps === 'number' && r.contrastedSteps <= r.steps!);
    });
  }

  test('bad options are rejected with BAD_ARGUMENT', async () => {
    for (const uscd of [{ enabled: true, alpha: -1 }, { enabled: true, threshold: 2 }, { enabled: true, beta: 0 }]) {
      await assert.rejects(engine.complete({ ...REQ, uscd }), (e: unknown) => e instanceof BytefillError && e.code === 'BAD_ARGUMENT');
    }
  });
});
