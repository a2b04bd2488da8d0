// Loader for OpenAI's HumanEval infilling sets (github.com/openai/human-eval-infilling).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { findRepoRoot } from './paths';
import { mulberry32, shuffled } from '../core/rng';
import type { EvalCase } from './types';

export type HumanEvalSet = 'single-line' | 'multi-line' | 'random-span' | 'random-span-light';

export const HUMANEVAL_FILES: Record<HumanEvalSet, string> = {
  'single-line': 'HumanEval-SingleLineInfilling.jsonl.gz',
  'multi-line': 'HumanEval-MultiLineInfilling.jsonl.gz',
  'random-span': 'HumanEval-RandomSpanInfilling.jsonl.gz',
  'random-span-light': 'HumanEval-RandomSpanInfillingLight.jsonl.gz',
};

export const HUMANEVAL_SETS = Object.keys(HUMANEVAL_FILES) as HumanEvalSet[];

export interface HumanEvalRecord {
  task_id: string;
  prompt: string;
  suffix: string;
  canonical_solution: string;
  test: string;
  entry_point: string;
}

/** <repo>/benchmarks/humaneval-infilling: the sets ship with the repository (MIT, LICENSE beside them). */
export function defaultHumanEvalDir(): string {
  return path.join(findRepoRoot(), 'benchmarks', 'humaneval-infilling');
}

export function isHumanEvalSet(s: string): s is HumanEvalSet {
  return Object.prototype.hasOwnProperty.call(HUMANEVAL_FILES, s);
}

/** All records of a set, in file order. */
export function readHumanEvalSet(set: HumanEvalSet, dir: string = defaultHumanEvalDir()): HumanEvalRecord[] {
  const file = path.join(dir, HUMANEVAL_FILES[set]);
  if (!fs.existsSync(file)) throw new Error(`HumanEval infilling file not found: ${file}`);
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  const out: HumanEvalRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim()) out.push(JSON.parse(line) as HumanEvalRecord);
  }
  return out;
}

/** 'SingleLineInfilling/HumanEval/12/L3' -> 'HumanEval/12' (the underlying problem). */
export function taskOf(taskId: string): string {
  const m = /HumanEval\/\d+/.exec(taskId);
  return m ? m[0] : taskId;
}

/**
 * Deterministic seeded subsample of `n` records spread across problems: problems are visited
 * in a seeded order, taking one (seeded) record of each per round, so n <= #problems gives n
 * distinct problems. Returned in the original file order.
 */
export function sampleRecords<T extends { task_id: string }>(records: readonly T[], n: number, seed = 1): T[] {
  if (n >= records.length) return records.slice();
  const rng = mulberry32(seed);
  const groups = new Map<string, number[]>();
  records.forEach((r, i) => {
    const k = taskOf(r.task_id);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  });
  const order = shuffled([...groups.values()], rng).map((g) => shuffled(g, rng));
  const picked: number[] = [];
  for (let round = 0; picked.length < n; round++) {
    for (const g of order) {
      if (round < g.length) picked.push(g[round]);
      if (picked.length === n) break;
    }
  }
  return picked.sort((a, b) => a - b).map((i) => records[i]);
}

/**
 * `--limit N`: sets with one record per problem (random-span-light) take the first N;
 * sets with several records per problem take `sampleRecords` (the first N would all be
 * variations of problem 0).
 */
export function limitRecords<T extends { task_id: string }>(records: readonly T[], limit: number | undefined, seed = 1): T[] {
  if (limit === undefined || limit >= records.length) return records.slice();
  const tasks = new Set(records.map((r) => taskOf(r.task_id))).size;
  return tasks === records.length ? records.slice(0, limit) : sampleRecords(records, limit, seed);
}

export function humanEvalToCases(records: readonly HumanEvalRecord[]): EvalCase[] {
  return records.map((r) => ({
    id: r.task_id,
    prefix: r.prompt,
    suffix: r.suffix,
    reference: r.canonical_solution,
    test: r.test,
    entryPoint: r.entry_point,
    kind: 'humaneval',
    lang: 'python',
  }));
}

export interface LoadHumanEvalOptions {
  /** Folder holding the .jsonl.gz files; default `defaultHumanEvalDir()`. */
  dir?: string;
  limit?: number;
  /** Seed for the subsample; default 1. */
  seed?: number;
}

export function loadHumanEval(set: HumanEvalSet, opts: LoadHumanEvalOptions = {}): EvalCase[] {
  const all = readHumanEvalSet(set, opts.dir);
  return humanEvalToCases(limitRecords(all, opts.limit, opts.seed ?? 1));
}
