import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  defaultHumanEvalDir,
  limitRecords,
  loadHumanEval,
  readHumanEvalSet,
  sampleRecords,
  taskOf,
} from '../src/eval/humaneval';

const haveData = fs.existsSync(path.join(defaultHumanEvalDir(), 'HumanEval-SingleLineInfilling.jsonl.gz'));

test('taskOf', () => {
  assert.equal(taskOf('SingleLineInfilling/HumanEval/12/L3'), 'HumanEval/12');
  assert.equal(taskOf('MultiLineInfilling/HumanEval/0/L0_L1'), 'HumanEval/0');
  assert.equal(taskOf('RandomSpanInfillingLight/HumanEval/163/1'), 'HumanEval/163');
});

test('sampleRecords spreads over tasks, is seeded and keeps file order', () => {
  const recs = [];
  for (let t = 0; t < 10; t++) for (let k = 0; k < 5; k++) recs.push({ task_id: `X/HumanEval/${t}/L${k}`, i: recs.length });
  const s = sampleRecords(recs, 7, 1);
  assert.equal(s.length, 7);
  assert.equal(new Set(s.map((r) => taskOf(r.task_id))).size, 7);
  assert.deepEqual(s, sampleRecords(recs, 7, 1));
  assert.notDeepEqual(s, sampleRecords(recs, 7, 2));
  assert.deepEqual(s.map((r) => r.i), s.map((r) => r.i).sort((a, b) => a - b));
  // More than one round: 12 from 10 tasks -> every task once, two twice.
  const s12 = sampleRecords(recs, 12, 3);
  assert.equal(new Set(s12.map((r) => taskOf(r.task_id))).size, 10);
  assert.equal(new Set(s12).size, 12);
  assert.equal(sampleRecords(recs, 100, 1).length, 50);
});

test('limitRecords: first N when one record per task', () => {
  const recs = Array.from({ length: 10 }, (_, t) => ({ task_id: `L/HumanEval/${t}/1` }));
  assert.deepEqual(limitRecords(recs, 3), recs.slice(0, 3));
  assert.deepEqual(limitRecords(recs, undefined), recs);
});

test('loads the HumanEval infilling sets', { skip: !haveData && 'benchmark data not present' }, () => {
  const single = readHumanEvalSet('single-line');
  assert.equal(single.length, 1033);
  const r = single[0];
  for (const k of ['task_id', 'prompt', 'suffix', 'canonical_solution', 'test', 'entry_point'] as const) assert.equal(typeof r[k], 'string');
  assert.equal(readHumanEvalSet('random-span-light').length, 164);
  const cases = loadHumanEval('single-line', { limit: 20 });
  assert.equal(cases.length, 20);
  assert.equal(new Set(cases.map((c) => taskOf(c.id))).size, 20);
  assert.equal(cases[0].kind, 'humaneval');
  assert.ok(cases.every((c) => c.test && c.entryPoint && c.reference));
  const light = loadHumanEval('random-span-light', { limit: 3 });
  assert.deepEqual(light.map((c) => c.id), ['RandomSpanInfillingLight/HumanEval/0/1', 'RandomSpanInfillingLight/HumanEval/1/1', 'RandomSpanInfillingLight/HumanEval/2/1']);
});
