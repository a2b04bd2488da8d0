// Reports: a text table of summaries (modes side by side), a paired comparison with
// bootstrap intervals, a JSON writer, a dependency-free SVG chart, and a markdown table.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pairedBootstrap, type BootstrapOptions, type BootstrapResult } from './bootstrap';
import { fmtNum, fmtPct } from './format';
import type { EvalRecord, EvalSummary } from './types';

type Fmt = (v: number | null) => string;
const pct: Fmt = (v) => fmtPct(v);
const num =
  (d: number): Fmt =>
  (v) =>
    fmtNum(v, d);

interface Row {
  name: string;
  get: (s: EvalSummary) => number | null;
  fmt: Fmt;
}

const SUMMARY_ROWS: Row[] = [
  { name: 'n', get: (s) => s.n, fmt: num(0) },
  { name: 'pass@1', get: (s) => s.pass1, fmt: pct },
  { name: 'exact match', get: (s) => s.exactMatch, fmt: pct },
  { name: 'first-line EM', get: (s) => s.firstLineEM, fmt: pct },
  { name: 'edit similarity', get: (s) => s.editSimilarity, fmt: num(3) },
  { name: 'prefix match (chars)', get: (s) => s.prefixMatchLength, fmt: num(1) },
  { name: 'identifier continued', get: (s) => s.identifierContinuation, fmt: pct },
  { name: 'bits/byte (mean)', get: (s) => s.bitsPerByte, fmt: num(3) },
  { name: 'bits/byte (total)', get: (s) => s.bitsPerByteTotal, fmt: num(3) },
  { name: 'latency p50 ms', get: (s) => s.latency.p50, fmt: num(0) },
  { name: 'latency p95 ms', get: (s) => s.latency.p95, fmt: num(0) },
  { name: 'latency mean ms', get: (s) => s.latency.mean, fmt: num(0) },
  { name: 'errors', get: (s) => s.errors, fmt: num(0) },
];

function padTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

/** Metrics as rows, one column per mode. */
export function formatSummaryTable(summaries: readonly EvalSummary[]): string {
  const rows = [['metric', ...summaries.map((s) => s.label)]];
  for (const r of SUMMARY_ROWS) rows.push([r.name, ...summaries.map((s) => r.fmt(r.get(s)))]);
  return padTable(rows);
}

/** Markdown table for BENCHMARKS.md: one row per mode. */
export function formatMarkdownTable(summaries: readonly EvalSummary[], title?: string): string {
  const rows = SUMMARY_ROWS.filter((r) => summaries.some((s) => r.get(s) !== null));
  const lines = [
    `| mode | ${rows.map((r) => r.name).join(' | ')} |`,
    `|---|${rows.map(() => '---:').join('|')}|`,
    ...summaries.map((s) => `| ${s.label} | ${rows.map((r) => r.fmt(r.get(s))).join(' | ')} |`),
  ];
  return (title ? `**${title}**\n\n` : '') + lines.join('\n') + '\n';
}

/** One metric's paired comparison; n counts cases present in both runs with the metric defined. */
export interface CompareRow extends BootstrapResult {
  metric: string;
}

const b01 = (b: boolean | undefined) => (b === undefined ? undefined : b ? 1 : 0);
const COMPARE_METRICS: [string, (r: EvalRecord) => number | undefined][] = [
  ['pass@1', (r) => b01(r.passed)],
  ['exact match', (r) => b01(r.exactMatch)],
  ['first-line EM', (r) => b01(r.firstLineExactMatch)],
  ['edit similarity', (r) => r.editSimilarity],
  ['prefix match (chars)', (r) => r.prefixMatchLength],
  ['identifier continued', (r) => b01(r.identifierContinuation)],
  ['bits/byte', (r) => r.bitsPerByte],
  ['latency ms', (r) => r.ms],
];

/** Paired comparison of two runs over the cases they share (matched by id). */
export function compareRuns(a: readonly EvalRecord[], b: readonly EvalRecord[], opts: BootstrapOptions = {}): CompareRow[] {
  const byId = new Map(b.map((r) => [r.id, r]));
  const pairs = a.filter((r) => byId.has(r.id)).map((r) => [r, byId.get(r.id)!] as const);
  const out: CompareRow[] = [];
  for (const [metric, get] of COMPARE_METRICS) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [ra, rb] of pairs) {
      const x = get(ra);
      const y = get(rb);
      if (x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y)) {
        xs.push(x);
        ys.push(y);
      }
    }
    if (xs.length === 0) continue;
    const bs = pairedBootstrap(xs, ys, opts);
    out.push({ metric, n: bs.n, meanA: bs.meanA, meanB: bs.meanB, diff: bs.diff, lo: bs.lo, hi: bs.hi });
  }
  return out;
}

export function formatCompare(rows: readonly CompareRow[], labelA: string, labelB: string): string {
  const f = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3));
  const sgn = (v: number) => (v > 0 ? '+' : '') + f(v);
  const table = [['metric', 'n', labelA, labelB, `${labelB}-${labelA}`, '95% CI', '']];
  for (const r of rows) {
    // '*' marks an interval that excludes 0.
    const sig = r.lo > 0 || r.hi < 0 ? '*' : '';
    table.push([r.metric, String(r.n), f(r.meanA), f(r.meanB), sgn(r.diff), `[${sgn(r.lo)}, ${sgn(r.hi)}]`, sig]);
  }
  return padTable(table);
}

/** A labelled record set: `{label, records}`, or an EvalRun (labelled by its summary). */
export interface LabelledRecords {
  label?: string;
  summary?: { label: string };
  records: readonly EvalRecord[];
}

const labelOf = (x: LabelledRecords, dflt: string) => x.label ?? x.summary?.label ?? x.records[0]?.label ?? dflt;

/** Convenience: compare two labelled record sets (B against baseline A) and format the result. */
export function compare(a: LabelledRecords, b: LabelledRecords, opts: BootstrapOptions = {}): string {
  return formatCompare(compareRuns(a.records, b.records, opts), labelOf(a, 'A'), labelOf(b, 'B'));
}

export function writeJson(file: string, summary: EvalSummary | EvalSummary[], records: readonly EvalRecord[]): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ summary, records }, null, 2) + '\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

/**
 * SVG with two panels: edit similarity (0..1, higher is better) and bits per byte (lower is
 * better), one bar per mode with its value on top. Modes without bits/byte show 'n/a'.
 */
export function renderSvgChart(summaries: readonly EvalSummary[], title = 'bytefill evaluation'): string {
  const panelW = Math.max(260, 70 * summaries.length + 80);
  const panelH = 240;
  const top = 50;
  const left = 55;
  const plotH = 170;
  const W = 2 * panelW + 20;
  const H = top + panelH + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
  ];
  const panels: { name: string; get: (s: EvalSummary) => number | null; fixedMax?: number }[] = [
    { name: 'Edit similarity (higher is better)', get: (s) => s.editSimilarity, fixedMax: 1 },
    { name: 'Bits per byte of the middle (lower is better)', get: (s) => s.bitsPerByte },
  ];
  panels.forEach((p, pi) => {
    const x0 = pi * (panelW + 20);
    const vals = summaries.map((s) => p.get(s));
    const finite = vals.filter((v): v is number => v !== null && Number.isFinite(v));
    const step = p.fixedMax !== undefined ? p.fixedMax / 4 : niceStep(Math.max(0, ...finite) / 4);
    const max = p.fixedMax ?? step * Math.max(1, Math.ceil((Math.max(0, ...finite) * 1.1) / step));
    const plotW = panelW - left - 15;
    const y = (v: number) => top + 30 + plotH - (max > 0 ? (v / max) * plotH : 0);
    const base = y(0);
    parts.push(`<text x="${x0 + panelW / 2}" y="${top + 5}" text-anchor="middle" font-weight="bold">${esc(p.name)}</text>`);
    for (let t = 0; t * step <= max + 1e-9; t++) {
      const v = t * step;
      parts.push(
        `<line x1="${x0 + left}" x2="${x0 + left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${x0 + left - 5}" y="${y(v) + 4}" text-anchor="end">${fmtTick(v)}</text>`,
      );
    }
    parts.push(
      `<line x1="${x0 + left}" x2="${x0 + left}" y1="${y(max)}" y2="${base}" stroke="#333"/>`,
      `<line x1="${x0 + left}" x2="${x0 + left + plotW}" y1="${base}" y2="${base}" stroke="#333"/>`,
    );
    const slot = plotW / Math.max(1, summaries.length);
    const bw = Math.min(50, slot * 0.6);
    summaries.forEach((s, i) => {
      const cx = x0 + left + slot * (i + 0.5);
      const v = vals[i];
      if (v !== null && Number.isFinite(v)) {
        const yt = y(Math.min(v, max));
        parts.push(
          `<rect x="${(cx - bw / 2).toFixed(1)}" y="${yt.toFixed(1)}" width="${bw.toFixed(1)}" height="${(base - yt).toFixed(1)}" fill="${COLORS[i % COLORS.length]}"/>`,
          `<text x="${cx.toFixed(1)}" y="${(yt - 4).toFixed(1)}" text-anchor="middle">${v.toFixed(3)}</text>`,
        );
      } else {
        parts.push(`<text x="${cx.toFixed(1)}" y="${base - 4}" text-anchor="middle" fill="#888">n/a</text>`);
      }
      parts.push(`<text x="${cx.toFixed(1)}" y="${base + 16}" text-anchor="middle">${esc(s.label)}</text>`);
    });
    parts.push(`<text x="${x0 + left + plotW / 2}" y="${base + 34}" text-anchor="middle" fill="#555">mode (n = ${summaries[0]?.n ?? 0})</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Smallest of 1, 2, 2.5, 5 times a power of ten that is >= v (axis tick spacing). */
function niceStep(v: number): number {
  if (!(v > 0)) return 0.25;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const k of [1, 2, 2.5, 5, 10]) if (k * mag >= v - 1e-12) return k * mag;
  return 10 * mag;
}

function fmtTick(v: number): string {
  return String(Number(v.toFixed(6)));
}

export function writeSvgChart(file: string, summaries: readonly EvalSummary[], title?: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, renderSvgChart(summaries, title));
}
