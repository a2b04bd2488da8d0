import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compare, compareRuns, formatMarkdownTable, formatSummaryTable, renderSvgChart, writeJson, writeSvgChart } from '../src/eval/report';
import { summarize } from '../src/eval/runner';
import type { EvalRecord } from '../src/eval/types';

function rec(id: string, label: string, es: number, em: boolean, bpb?: number, passed?: boolean): EvalRecord {
  return {
    id, label, kind: 'humaneval', completion: 'x', exactMatch: em, firstLineExactMatch: em, editSimilarity: es,
    prefixMatchLength: em ? 3 : 1, middleBytes: 4, ms: 10, ...(bpb !== undefined && { bitsPerByte: bpb }), ...(passed !== undefined && { passed }),
  };
}
const A = ['1', '2', '3', '4'].map((id, i) => rec(id, 'token', 0.5, i === 0, 2, i < 2));
const B = ['4', '3', '2', '1', '5'].map((id) => rec(id, 'byte<x>', 0.75, true, 1.5, true));

test('summary table and markdown list modes side by side', () => {
  const sa = summarize('token', A);
  const sb = summarize('byte<x>', B);
  const t = formatSummaryTable([sa, sb]);
  assert.match(t.split('\n')[0], /metric\s+token\s+byte<x>/);
  assert.match(t, /pass@1\s+50\.0%\s+100\.0%/);
  assert.match(t, /edit similarity\s+0\.500\s+0\.750/);
  const md = formatMarkdownTable([sa, sb], 'HumanEval single-line');
  const lines = md.trim().split('\n');
  assert.equal(lines[0], '**HumanEval single-line**');
  assert.equal(lines.length, 2 + 2 + 2);
  assert.match(lines[4], /^\| token \| 4 \| 50\.0% \| 25\.0% \|/);
  assert.doesNotMatch(md, /identifier continued/); // all-null metrics are left out
});

test('compare matches cases by id and bootstraps the difference', () => {
  const rows = compareRuns(A, B, { seed: 1 });
  const es = rows.find((r) => r.metric === 'edit similarity')!;
  assert.equal(es.n, 4); // case 5 only in B
  assert.equal(es.meanA, 0.5);
  assert.equal(es.meanB, 0.75);
  assert.equal(es.diff, 0.25);
  assert.equal(es.lo, 0.25);
  assert.equal(es.hi, 0.25);
  const bpb = rows.find((r) => r.metric === 'bits/byte')!;
  assert.equal(bpb.diff, -0.5);
  assert.ok(!rows.some((r) => r.metric === 'identifier continued'));
  const text = compare({ label: 'token', records: A }, { label: 'byte', records: B });
  assert.match(text, /edit similarity\s+4\s+0\.500\s+0\.750\s+\+0\.250\s+\[\+0\.250, \+0\.250\]\s+\*/);
  assert.deepEqual(compareRuns(A, B, { seed: 3 }), compareRuns(A, B, { seed: 3 }));
});

function chart(): string {
  const sa = summarize('token', A);
  const sb = summarize('byte<x>', B.map(({ bitsPerByte: _, ...r }) => r)); // no bits/byte
  return renderSvgChart([sa, sb], 'a & b');
}

test('the SVG chart is one svg element', () => {
  const svg = chart();
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trim().endsWith('</svg>'));
});

test('the SVG chart escapes the title and the labels', () => {
  const svg = chart();
  assert.match(svg, /a &amp; b/);
  assert.match(svg, /byte&lt;x&gt;/);
});

test('the SVG chart has an edit-similarity and a bits-per-byte panel with values on the bars', () => {
  const svg = chart();
  assert.match(svg, /Edit similarity/);
  assert.match(svg, /Bits per byte/);
  assert.match(svg, />0\.500</);
});

test('the SVG chart draws no bar for a missing value and says n/a', () => {
  const svg = chart();
  assert.match(svg, />n\/a</);
  assert.equal((svg.match(/<rect /g) ?? []).length, 1 + 2 + 1); // background + token's two bars + byte's edit-similarity bar
});

test('writeSvgChart creates missing parent folders', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-report-'));
  try {
    writeSvgChart(path.join(dir, 'sub', 'c.svg'), [summarize('token', A)]);
    assert.ok(fs.readFileSync(path.join(dir, 'sub', 'c.svg'), 'utf8').includes('<svg'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writeJson writes the summary and the records', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-report-'));
  try {
    writeJson(path.join(dir, 'r.json'), summarize('token', A), A);
    const back = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8'));
    assert.equal(back.summary.label, 'token');
    assert.equal(back.records.length, 4);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
