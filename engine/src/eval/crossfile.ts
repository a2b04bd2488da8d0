// The cross-file suite (built by crossfile-build.ts: `bytefill eval build-crossfile`): the cursor is in file B, the
// answer is a function defined in file A, given as context chunks. Measures the gain of the
// context (exact match, edit similarity, the right name) and its cost (prompt tokens, latency),
// and whether the context stays a cached prefix across a keystroke (prefix KV cache reuse).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BoundaryMode, CompletionRequest, CompletionResult, ContextSnippet } from '../core/types';
import { findRepoRoot } from './paths';
import { editSimilarity, exactMatch, trimTrailing } from './metrics';
import { percentile } from './runner';

export interface CrossfileCase {
  id: string;
  lang: string;
  cursor: 'after-dot' | 'mid-name';
  path: string;
  prefix: string;
  suffix: string;
  reference: string;
  /** The defined name the reference starts with (or continues, mid-name). */
  name: string;
  /** Context chunks, oldest first. */
  snippets: ContextSnippet[];
}

export function defaultCrossfilePath(): string {
  return path.join(findRepoRoot(), 'engine', 'eval-data', 'crossfile.jsonl');
}

export function loadCrossfile(file: string = defaultCrossfilePath(), limit?: number): CrossfileCase[] {
  if (!fs.existsSync(file)) throw new Error(`cross-file suite not found: ${file} (run bytefill eval build-crossfile)`);
  const cases = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as CrossfileCase);
  return limit === undefined ? cases : cases.slice(0, limit);
}

/** One way of running the suite: the context token budget (0 = no context) and the boundary mode. */
export interface CrossfileVariant {
  label: string;
  contextTokens: number;
  mode: BoundaryMode;
}

export interface CrossfileSummary {
  label: string;
  n: number;
  exactMatch: number;
  editSimilarity: number;
  /** The completion continues the reference's name correctly (the part only file A holds). */
  nameMatch: number;
  promptTokens: number;
  contextTokens: number;
  latency: { p50: number; p95: number; mean: number };
  /** Second request of each case, one character typed further: tokens reused from the KV cache over the prompt's tokens. */
  nextKeyReuse: number;
  /** Second request: prompt tokens run through the model (not reused from the KV cache). */
  nextKeyComputed: number;
  nextKeyLatency: { p50: number; p95: number; mean: number };
}

type Complete = (req: CompletionRequest) => Promise<CompletionResult>;

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const lat = (xs: number[]) => ({ p50: percentile(xs, 0.5), p95: percentile(xs, 0.95), mean: mean(xs) });

/**
 * Runs every variant over the cases, interleaved per case (variant order rotates) so that load
 * changes hit all variants alike. Each case runs twice per variant: at the cursor, then with the
 * first character of the reference typed (the keystroke after), to measure prefix reuse.
 */
export async function runCrossfile(complete: Complete, cases: readonly CrossfileCase[], variants: readonly CrossfileVariant[], opts: { maxTokens?: number; onCase?: (i: number) => void } = {}): Promise<CrossfileSummary[]> {
  const acc = variants.map(() => ({ em: [] as number[], es: [] as number[], name: [] as number[], pt: [] as number[], ct: [] as number[], ms: [] as number[], reuse: [] as number[], computed: [] as number[], ms2: [] as number[] }));
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    for (let k = 0; k < variants.length; k++) {
      const vi = (i + k) % variants.length;
      const v = variants[vi];
      const a = acc[vi];
      const base: CompletionRequest = {
        prefix: c.prefix,
        suffix: c.suffix,
        mode: v.mode,
        maxTokens: opts.maxTokens ?? 32,
        stop: ['\n'],
        ...(v.contextTokens > 0 && { snippets: c.snippets, path: c.path, lineComment: '#', contextTokens: v.contextTokens }),
      };
      const t0 = performance.now();
      const r = await complete(base);
      a.ms.push(performance.now() - t0);
      const out = trimTrailing(r.completion.split('\n')[0]);
      a.em.push(exactMatch(out, c.reference) ? 1 : 0);
      a.es.push(editSimilarity(out, trimTrailing(c.reference)));
      // The name (or its rest, mid-name) and the opening parenthesis: what only file A tells.
      a.name.push(out.startsWith(c.reference.slice(0, c.reference.indexOf('(') + 1)) ? 1 : 0);
      a.pt.push(r.promptTokens);
      a.ct.push(r.contextTokens ?? 0);
      const t1 = performance.now();
      const r2 = await complete({ ...base, prefix: c.prefix + c.reference[0] });
      a.ms2.push(performance.now() - t1);
      a.reuse.push((r2.cachedTokens ?? 0) / Math.max(1, r2.promptTokens));
      a.computed.push(r2.promptTokens - (r2.cachedTokens ?? 0));
    }
    opts.onCase?.(i);
  }
  return variants.map((v, i) => {
    const a = acc[i];
    return {
      label: v.label,
      n: a.em.length,
      exactMatch: mean(a.em),
      editSimilarity: mean(a.es),
      nameMatch: mean(a.name),
      promptTokens: mean(a.pt),
      contextTokens: mean(a.ct),
      latency: lat(a.ms),
      nextKeyReuse: mean(a.reuse),
      nextKeyComputed: mean(a.computed),
      nextKeyLatency: lat(a.ms2),
    };
  });
}
