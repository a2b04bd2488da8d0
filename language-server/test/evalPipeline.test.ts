// The evaluation through the server's pipeline: one engine call per case serves the raw and the
// post-processed subject, the decision and post-processing are the server's own.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Engine } from '../../engine/src/index';
import { runEval } from '../../engine/src/index';
import type { EvalCase } from '../../engine/src/index';
import { pipelineSubjects } from '../src/evalPipeline';
import { finishCandidates, requestShape } from '../src/pipeline';
import { decideForText, MAX_FRESH_PARSE_CHARS } from '../src/syntax/decide';
import { DocumentTrees } from '../src/syntax/documentTrees';

let engine: Engine;
before(async () => {
  engine = await Engine.create({ threads: 1 });
});
after(async () => {
  await engine.dispose();
});

const CASES: EvalCase[] = [
  { id: 'mid-token', kind: 'midtoken', prefix: 'for item in items:\n    if item is None:\n        conti', suffix: '\n    total += item\n', reference: 'nue' },
  { id: 'block', kind: 'humaneval', prefix: 'def add(a, b):\n    """Return the sum."""\n', suffix: '\n\ndef mul(a, b):\n    return a * b\n', reference: '    return a + b' },
];

test('requestShape: single-line stops at the newline, the end of a finished line may continue on the next line', () => {
  const mid = requestShape('x = fo', '', false, 64);
  assert.deepEqual([mid.stop, mid.nextLine, mid.maxTokens], [['\n'], true, 48]);
  const inLine = requestShape('f(a', ')\n', false, 64);
  assert.equal(inLine.nextLine, false, 'code after the cursor: this line only');
  const multi = requestShape('def f():\n', '', true, 64);
  assert.deepEqual([multi.stop, multi.nextLine, multi.maxTokens], [undefined, false, 64]);
  // A next-line answer is post-processed as multi-line; another one stays on its line.
  assert.equal(finishCandidates(['\n    return x'], { languageId: 'python', prefix: '    y = 1', suffix: '' }, requestShape('    y = 1', '', false, 64))[0], '\n    return x');
  assert.deepEqual(finishCandidates(['abc\ndef', 'abc\nxyz'], { languageId: 'python', prefix: 'x = ', suffix: '' }, requestShape('x = ', '', false, 64)), ['abc']);
});

test('raw and server subjects share one engine call per case; the server one is the post-processed raw', async () => {
  let calls = 0;
  const counting = new Proxy(engine, {
    get(target, prop, recv) {
      if (prop === 'complete') return (req: Parameters<Engine['complete']>[0]) => (calls++, target.complete(req));
      return Reflect.get(target, prop, recv);
    },
  });
  const decisions: boolean[] = [];
  const { raw, server } = pipelineSubjects(counting, { mode: 'byte', languageOf: () => 'python', maxTokens: 32, onDecision: (m) => decisions.push(m) });
  const r = await runEval(raw, CASES, { execute: false, bitsPerByte: false });
  const s = await runEval(server, CASES, { execute: false, bitsPerByte: false });
  assert.equal(calls, CASES.length, 'one engine call per case');
  assert.deepEqual(decisions, [false, true], 'mid-token: single-line; empty line in a function body: multi-line (tree-sitter)');
  assert.equal(r.summary.label, 'byte+raw');
  assert.equal(s.summary.label, 'byte+server');
  for (const [i, c] of CASES.entries()) {
    const shape = requestShape(c.prefix, c.suffix, decisions[i], 32);
    const expected = finishCandidates([r.records[i].completion], { languageId: 'python', prefix: c.prefix, suffix: c.suffix }, shape)[0] ?? '';
    assert.equal(s.records[i].completion, expected, c.id);
  }
  assert.match(s.records[0].completion, /^nue/);
});

test('decideForText: the parse decides (an empty line inside a docstring is single-line); huge texts fall back to the line heuristics', async () => {
  const trees = new DocumentTrees();
  const head = 'def f():\n    """Doc\n';
  const tail = '\n    """\n    return 1\n';
  assert.equal(await decideForText(trees, 'scratch:a', head + tail, head.length, 'python'), false, 'inside a string: single-line');
  const pad = '#'.repeat(MAX_FRESH_PARSE_CHARS) + '\n';
  assert.equal(await decideForText(trees, 'scratch:b', pad + head + tail, pad.length + head.length, 'python'), true, 'no parse: an empty line is multi-line');
});
