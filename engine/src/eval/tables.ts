// The markdown tables of BENCHMARKS.md, built from saved eval runs (`eval ... --out FILE.json`):
// boundary modes per model, ensembles against their members, USCD against plain byte mode.
// Pure functions of the runs; the CLI's `report` command reads the files and prints these.
import * as fs from 'node:fs';
import { BytefillError } from '../core/types';
import { compareRuns, type CompareRow } from './report';
import { fmtDiffCI, fmtNum, fmtPct, fmtSigned } from './format';
import type { EvalRecord, EvalSummary } from './types';

/** What `eval --out` writes: the summaries of the runs (one per mode) and all their records. */
export interface EvalFile {
  summary: EvalSummary[];
  records: EvalRecord[];
}

/** Reads an `eval --out` file; a missing or malformed file is one clear error naming it. */
export function readEvalFile(file: string): EvalFile {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BytefillError('BAD_ARGUMENT', `cannot read eval results ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  const o = j as { summary?: unknown; records?: unknown };
  if (!o || typeof o !== 'object' || !Array.isArray(o.records)) throw new BytefillError('BAD_ARGUMENT', `${file}: field 'records' is missing or not an array`);
  const summary = Array.isArray(o.summary) ? o.summary : o.summary && typeof o.summary === 'object' ? [o.summary] : undefined;
  if (!summary) throw new BytefillError('BAD_ARGUMENT', `${file}: field 'summary' is missing`);
  return { summary: summary as EvalSummary[], records: o.records as EvalRecord[] };
}

/** One labelled run inside a file: its summary and its records. */
export interface LabelledRun {
  summary: EvalSummary;
  records: EvalRecord[];
}

/** The run labelled `label` in a file (the first one when no label is given). */
export function runOf(file: EvalFile, label?: string, name = 'eval file'): LabelledRun {
  const summary = label === undefined ? file.summary[0] : file.summary.find((s) => s.label === label);
  if (!summary) throw new BytefillError('BAD_ARGUMENT', `${name}: no run labelled '${label}' (labels: ${file.summary.map((s) => s.label).join(', ')})`);
  return { summary, records: file.records.filter((r) => r.label === summary.label) };
}

export interface Column {
  header: string;
  /** Numbers are right-aligned. */
  align?: 'left' | 'right';
}

/** A GitHub markdown table (no trailing newline). */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  for (const r of rows) if (r.length !== columns.length) throw new Error(`markdown row has ${r.length} cells, the table ${columns.length} columns`);
  return [
    `| ${columns.map((c) => c.header).join(' | ')} |`,
    `|${columns.map((c) => (c.align === 'right' ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const L = (header: string): Column => ({ header });
const R = (header: string): Column => ({ header, align: 'right' });

function editSimilarityDiff(base: readonly EvalRecord[], other: readonly EvalRecord[]): CompareRow {
  const row = compareRuns(base, other).find((r) => r.metric === 'edit similarity');
  if (!row) throw new BytefillError('BAD_ARGUMENT', 'the two runs share no case with an edit similarity');
  return row;
}

// ---- boundary modes (BENCHMARKS.md section 2) ------------------------------------------------

/** Metrics whose paired difference (byte mode minus a baseline) the mode table reports. */
export const MODE_DIFF_METRICS = ['edit similarity', 'bits/byte', 'identifier continued', 'first-line EM'] as const;

/**
 * One model: every set's modes as rows, then the paired bootstrap differences of byte mode against
 * token and heal mode (2000 resamples, seed 1) for MODE_DIFF_METRICS.
 */
export function modeTables(model: string, sets: readonly { set: string; file: EvalFile }[]): string {
  const rows: string[][] = [];
  const diffs: string[][] = [];
  for (const { set, file } of sets) {
    for (const s of file.summary) {
      rows.push([set, s.label, String(s.n), fmtPct(s.pass1), fmtPct(s.exactMatch), fmtPct(s.firstLineEM), fmtNum(s.editSimilarity), fmtNum(s.prefixMatchLength, 1), fmtPct(s.identifierContinuation), fmtNum(s.bitsPerByte), fmtNum(s.latency?.p50, 0)]);
    }
    const by = (label: string) => file.records.filter((r) => r.label === label);
    for (const base of ['token', 'heal']) {
      for (const row of compareRuns(by(base), by('byte'))) {
        if ((MODE_DIFF_METRICS as readonly string[]).includes(row.metric)) diffs.push([set, `byte − ${base}`, row.metric, String(row.n), fmtSigned(row.diff), `[${row.lo.toFixed(3)}, ${row.hi.toFixed(3)}]`]);
      }
    }
  }
  const modes = markdownTable(
    [L('set'), L('mode'), R('n'), R('pass@1'), R('exact'), R('first-line EM'), R('edit sim'), R('prefix match'), R('ident. continued'), R('bits/byte'), R('p50 ms')],
    rows,
  );
  const paired = markdownTable([L('set'), L('comparison'), L('metric'), R('n'), R('difference'), L('95% CI')], diffs);
  return `**${model}**\n\n${modes}\n\nPaired differences (${model}), 95% bootstrap intervals (2000 resamples, seed 1):\n\n${paired}\n`;
}

// ---- ensembles (BENCHMARKS.md section 3) -----------------------------------------------------

export interface EnsembleSet {
  set: string;
  /** The two members in byte mode on the same cases: [first, second]. */
  members: readonly [{ name: string; run: LabelledRun }, { name: string; run: LabelledRun }];
  /** Ensemble runs, each compared with both members. */
  ensembles: readonly { name: string; run: LabelledRun }[];
}

/** Each ensemble against each member's byte mode on the same cases, with paired bootstrap CIs. */
export function ensembleTable(sets: readonly EnsembleSet[]): string {
  const [m0, m1] = sets[0]?.members.map((m) => m.name) ?? ['first member', 'second member'];
  const rows: string[][] = [];
  const cells = (set: string, name: string, s: EvalSummary, d0: string, d1: string) => [
    set, name, String(s.n), fmtPct(s.pass1), fmtPct(s.firstLineEM), fmtNum(s.editSimilarity), fmtNum(s.prefixMatchLength, 2), d0, d1, fmtNum(s.latency.p50, 0),
  ];
  for (const { set, members, ensembles } of sets) {
    for (const m of members) rows.push(cells(set, `${m.name} (byte)`, m.run.summary, '', ''));
    for (const e of ensembles) {
      rows.push(cells(set, e.name, e.run.summary, fmtDiffCI(editSimilarityDiff(members[0].run.records, e.run.records)), fmtDiffCI(editSimilarityDiff(members[1].run.records, e.run.records))));
    }
  }
  return markdownTable(
    [L('set'), L('run'), R('n'), R('pass@1'), R('first-line EM'), R('edit sim'), R('prefix match'), L(`Δ edit sim vs ${m0} [95% CI]`), L(`Δ vs ${m1} [95% CI]`), R('p50 ms')],
    rows,
  );
}

// ---- USCD (BENCHMARKS.md section 4) ----------------------------------------------------------

export interface UscdGroup {
  model: string;
  set: string;
  plain: LabelledRun;
  settings: readonly { alpha: number; threshold: number; run: LabelledRun }[];
}

/** Byte mode with USCD against plain byte mode on the same cases: Δ edit similarity and the mean latency ratio. */
export function uscdTable(groups: readonly UscdGroup[]): string {
  const rows: string[][] = [];
  for (const { model, set, plain, settings } of groups) {
    const p = plain.summary;
    rows.push([model, set, 'plain byte', fmtPct(p.pass1), fmtNum(p.editSimilarity), fmtNum(p.prefixMatchLength, 2), fmtNum(p.latency.p50, 0), '', '1.00']);
    for (const { alpha, threshold, run } of settings) {
      const s = run.summary;
      rows.push([
        model, set, `α ${alpha}, threshold ${threshold}`, fmtPct(s.pass1), fmtNum(s.editSimilarity), fmtNum(s.prefixMatchLength, 2), fmtNum(s.latency.p50, 0),
        fmtDiffCI(editSimilarityDiff(plain.records, run.records)), fmtNum(s.latency.mean / p.latency.mean, 2),
      ]);
    }
  }
  return markdownTable(
    [L('model'), L('set'), L('setting'), R('pass@1'), R('edit sim'), R('prefix match'), R('p50 ms'), L('Δ edit sim vs plain [95% CI]'), R('latency ratio (mean)')],
    rows,
  );
}
