// The BENCHMARKS.md tables (eval/tables.ts), the cell formatters (eval/format.ts), the held-out
// line sampler (eval/heldout-lines.ts) and the `report` command that prints the tables.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fmtDiffCI, fmtNum, fmtPct } from '../src/eval/format';
import { heldOutLineExamples } from '../src/eval/heldout-lines';
import { writeJson } from '../src/eval/report';
import { summarize } from '../src/eval/runner';
import { ensembleTable, markdownTable, modeTables, readEvalFile, runOf, uscdTable } from '../src/eval/tables';
import type { EvalRecord } from '../src/eval/types';
import { repoRoot } from './helpers';

function rec(id: string, label: string, es: number, ms = 10): EvalRecord {
  return { id, label, kind: 'humaneval', completion: 'x', exactMatch: es === 1, firstLineExactMatch: es === 1, editSimilarity: es, prefixMatchLength: 2, middleBytes: 4, ms, passed: es === 1 };
}
const ids = ['1', '2', '3', '4'];
const runWith = (label: string, es: number[], ms = 10) => {
  const records = ids.map((id, i) => rec(id, label, es[i], ms));
  return { summary: summarize(label, records), records };
};
const lines = (s: string) => s.trimEnd().split('\n');

test('fmtPct and fmtNum print - for a missing value', () => {
  assert.deepEqual([fmtPct(null), fmtPct(undefined), fmtNum(NaN), fmtNum(null)], ['-', '-', '-', '-']);
});

test('fmtPct prints a fraction as a percentage with one decimal', () => {
  assert.equal(fmtPct(0.1234), '12.3%');
});

test('fmtDiffCI signs the difference and prints the interval', () => {
  assert.equal(fmtDiffCI({ diff: 0.016, lo: -0.015, hi: 0.044 }), '+0.016 [-0.015, 0.044]');
});

test('markdownTable right-aligns numeric columns in the separator row', () => {
  const t = markdownTable([{ header: 'a' }, { header: 'n', align: 'right' }], [['x', '1']]);
  assert.deepEqual(lines(t), ['| a | n |', '|---|---:|', '| x | 1 |']);
});

test('markdownTable refuses a row with the wrong number of cells', () => {
  assert.throws(() => markdownTable([{ header: 'a' }], [['x', 'y']]), /2 cells, the table 1 columns/);
});

test('modeTables: one row per set and mode, then byte mode against token and heal', () => {
  const token = runWith('token', [0.5, 0.5, 0.5, 0.5]);
  const byte = runWith('byte', [1, 1, 1, 1]);
  const file = { summary: [token.summary, byte.summary], records: [...token.records, ...byte.records] };
  const text = modeTables('m', [{ set: 'single-line', file }]);
  assert.match(text, /^\*\*m\*\*\n/);
  assert.match(text, /\| single-line \| token \| 4 \| 0\.0% \| 0\.0% \| 0\.0% \| 0\.500 \|/);
  assert.match(text, /\| single-line \| byte \| 4 \| 100\.0% \|/);
  // No heal run: only byte − token differences; edit similarity +0.5 with a degenerate interval.
  assert.match(text, /\| single-line \| byte − token \| edit similarity \| 4 \| \+0\.500 \| \[0\.500, 0\.500\] \|/);
  assert.doesNotMatch(text, /byte − heal/);
});

test('ensembleTable: members first, then each ensemble with its difference to each member', () => {
  const a = runWith('byte', [0.5, 0.5, 0.5, 0.5]);
  const b = runWith('byte', [0.25, 0.25, 0.25, 0.25]);
  const e = runWith('byte+mixture', [0.75, 0.75, 0.75, 0.75]);
  const t = lines(ensembleTable([{ set: 's', members: [{ name: 'A', run: a }, { name: 'B', run: b }], ensembles: [{ name: 'a+b mixture', run: e }] }]));
  assert.match(t[0], /Δ edit sim vs A \[95% CI\] \| Δ vs B \[95% CI\]/);
  assert.match(t[2], /^\| s \| A \(byte\) \|/);
  assert.match(t[3], /^\| s \| B \(byte\) \|/);
  assert.match(t[4], /^\| s \| a\+b mixture \| 4 \| .* \| \+0\.250 \[0\.250, 0\.250\] \| \+0\.500 \[0\.500, 0\.500\] \| 10 \|$/);
});

test('uscdTable: the plain row has ratio 1.00; a setting shows Δ edit sim and its mean latency ratio', () => {
  const plain = runWith('byte', [0.5, 0.5, 0.5, 0.5], 10);
  const u = runWith('a0.5-t0.2-byte+uscd', [0.6, 0.6, 0.6, 0.6], 15);
  const t = lines(uscdTable([{ model: 'm', set: 's', plain, settings: [{ alpha: 0.5, threshold: 0.2, run: u }] }]));
  assert.match(t[2], /^\| m \| s \| plain byte \| .* \| 1\.00 \|$/);
  assert.match(t[3], /^\| m \| s \| α 0\.5, threshold 0\.2 \| .* \| \+0\.100 \[0\.100, 0\.100\] \| 1\.50 \|$/);
});

test('readEvalFile names the file and the missing field', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-tables-'));
  try {
    const f = path.join(dir, 'bad.json');
    fs.writeFileSync(f, '{"summary": []}');
    assert.throws(() => readEvalFile(f), new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: field 'records'`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runOf refuses a label the file does not have, listing the labels it has', () => {
  const r = runWith('token', [1, 1, 1, 1]);
  assert.throws(() => runOf({ summary: [r.summary], records: r.records }, 'byte', 'f.json'), /f\.json: no run labelled 'byte' \(labels: token\)/);
});

function pyTree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-heldout-'));
  for (let f = 0; f < 3; f++) {
    const body = Array.from({ length: 120 }, (_, i) => `    value_${f}_${i} = compute_something(${i}, ${f})`).join('\n');
    fs.writeFileSync(path.join(dir, `m${f}.py`), `def f${f}():\n${body}\n`);
  }
  return dir;
}

test('heldOutLineExamples: the same seed draws the same examples, another seed others', () => {
  const dir = pyTree();
  try {
    const a = heldOutLineExamples(dir, 6, 7);
    assert.equal(a.length, 6);
    assert.deepEqual(heldOutLineExamples(dir, 6, 7), a);
    assert.notDeepEqual(heldOutLineExamples(dir, 6, 8), a);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('heldOutLineExamples: prefix + target is a whole line of the file and the suffix starts at its end', () => {
  const dir = pyTree();
  try {
    for (const e of heldOutLineExamples(dir, 6, 7)) {
      const text = fs.readFileSync(path.join(dir, e.file), 'utf8');
      const line = e.prefix.slice(e.prefix.lastIndexOf('\n') + 1) + e.target;
      assert.ok(text.split('\n').includes(line), line);
      assert.ok(e.suffix.startsWith('\n'));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const CLI = path.join(repoRoot, 'out', 'engine', 'src', 'cli', 'main.js');

test('report modes prints the table of the eval files in --dir', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-report-'));
  try {
    const token = runWith('token', [0.5, 0.5, 0.5, 0.5]);
    const byte = runWith('byte', [1, 1, 1, 1]);
    writeJson(path.join(dir, 'eval-m-single-line.json'), [token.summary, byte.summary], [...token.records, ...byte.records]);
    const r = spawnSync(process.execPath, [CLI, 'report', 'modes', '--dir', dir, '--models', 'm'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\| single-line \| byte \| 4 \| 100\.0% \|/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('report with no result files is one clear error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-report-'));
  try {
    const r = spawnSync(process.execPath, [CLI, 'report', 'uscd', '--dir', dir], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^bytefill: no uscd results in .*bytefill-report-/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
