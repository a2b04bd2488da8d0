// runEval: completes each case with a subject (one mode of the engine), scores it, and
// summarises. Completions run one at a time (they share the model); Python executions for
// pass@1 run in the background, up to `concurrency` at once, while the next cases complete.
import { PythonExecutor, buildHumanEvalProgram, type ExecOptions, type ExecResult } from './execute';
import * as m from './metrics';
import type { EvalCase, EvalRecord, EvalRun, EvalSubject, EvalSummary } from './types';

export type { EvalCase, EvalRecord, EvalRun, EvalSubject, EvalSummary } from './types';

export interface EvalProgress {
  done: number;
  total: number;
  record: EvalRecord;
}

export interface RunEvalOptions {
  /**
   * Score only the first line of each completion (cut at the first '\n'). Use it for
   * HumanEval single-line and for the mid-token suite, whose references are one line (or the
   * rest of one). For execution the cut line gets its '\n' back, since single-line middles
   * are whole lines ending in '\n'. Otherwise the completion is used as the subject returns it
   * (the engine applies its own stop rules).
   */
  firstLineOnly?: boolean;
  /** Abort a single completion after this many ms (recorded as an error, completion ''). */
  caseTimeoutMs?: number;
  /** Stops the run; finished cases are returned with `aborted: true`. */
  signal?: AbortSignal;
  onProgress?: (p: EvalProgress) => void;
  /** Run the tests of cases that have one (pass@1). Default true. */
  execute?: boolean;
  /** Execution settings (timeoutMs default 10 s, concurrency default 2). */
  exec?: ExecOptions & { concurrency?: number };
  /** Reuse an executor (e.g. one shared by several modes). */
  executor?: PythonExecutor;
  /** Compute middle bits per byte when the subject supports it. Default true. */
  bitsPerByte?: boolean;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

async function completeWithTimeout(
  subject: EvalSubject,
  c: EvalCase,
  timeoutMs: number | undefined,
  outer: AbortSignal | undefined,
) {
  const ac = new AbortController();
  const onOuter = () => ac.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = subject.complete(c.prefix, c.suffix, ac.signal);
    if (timeoutMs === undefined) return await work;
    // Race too, in case a subject ignores the signal.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`case timeout after ${timeoutMs} ms`)); // first, so the race reports it
        ac.abort(new Error('case timeout'));
      }, timeoutMs);
    });
    work.catch(() => undefined); // no unhandled rejection when the timeout wins
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

export function scoreCompletion(c: EvalCase, completion: string): Pick<
  EvalRecord,
  'exactMatch' | 'firstLineExactMatch' | 'editSimilarity' | 'prefixMatchLength' | 'identifierContinuation'
> {
  return {
    exactMatch: m.exactMatch(completion, c.reference),
    firstLineExactMatch: m.firstLineExactMatch(completion, c.reference),
    // Trailing whitespace is ignored, as for exact match.
    editSimilarity: m.editSimilarity(m.trimTrailing(completion), m.trimTrailing(c.reference)),
    prefixMatchLength: m.prefixMatchLength(completion, c.reference),
    identifierContinuation:
      c.restOfIdentifier !== undefined ? m.identifierContinuation(completion, c.restOfIdentifier) : undefined,
  };
}

export async function runEval(subject: EvalSubject, cases: readonly EvalCase[], opts: RunEvalOptions = {}): Promise<EvalRun> {
  const doExec = opts.execute ?? true;
  const doBpb = (opts.bitsPerByte ?? true) && typeof subject.middleBitsPerByte === 'function';
  let executor = opts.executor;
  const records: EvalRecord[] = [];
  const pending: Promise<void>[] = [];
  let done = 0;
  const report = (r: EvalRecord) => opts.onProgress?.({ done: ++done, total: cases.length, record: r });

  for (const c of cases) {
    if (opts.signal?.aborted) break;
    const t0 = performance.now();
    let completion = '';
    let error: string | undefined;
    let stopReason: EvalRecord['stopReason'];
    try {
      const res = await completeWithTimeout(subject, c, opts.caseTimeoutMs, opts.signal);
      completion = res.completion;
      stopReason = res.stopReason;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const ms = performance.now() - t0;
    if (opts.signal?.aborted) break; // the interrupted case is not scored
    if (opts.firstLineOnly) {
      const nl = completion.indexOf('\n');
      if (nl >= 0) completion = completion.slice(0, nl);
    }
    const rec: EvalRecord = {
      id: c.id,
      label: subject.label,
      kind: c.kind,
      ...(c.lang !== undefined && { lang: c.lang }),
      ...(c.tag !== undefined && { tag: c.tag }),
      completion,
      ...scoreCompletion(c, completion),
      middleBytes: utf8Bytes(c.reference),
      ms,
      ...(stopReason !== undefined && { stopReason }),
      ...(error !== undefined && { error }),
    };
    if (rec.identifierContinuation === undefined) delete rec.identifierContinuation;
    // An empty reference middle has no bits per byte (0/0): it is left out, not an error.
    if (doBpb && c.reference.length > 0) {
      try {
        rec.bitsPerByte = await subject.middleBitsPerByte!(c.prefix, c.suffix, c.reference);
      } catch (e) {
        rec.error ??= `bitsPerByte: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    records.push(rec);
    if (doExec && c.test !== undefined && c.entryPoint !== undefined) {
      executor ??= new PythonExecutor(opts.exec);
      const forExec = opts.firstLineOnly ? completion + '\n' : completion;
      const program = buildHumanEvalProgram(c.prefix, forExec, c.suffix, c.test, c.entryPoint);
      pending.push(
        executor.run(program, opts.signal).then((r: ExecResult) => {
          rec.passed = r.passed;
          rec.timedOut = r.timedOut;
          if (!r.passed && r.error) rec.execError = r.error.slice(0, 500);
          report(rec);
        }),
      );
    } else {
      report(rec);
    }
  }
  await Promise.all(pending);
  return { summary: summarize(subject.label, records), records, aborted: opts.signal?.aborted ?? false };
}

/** Nearest-rank percentile (q in 0..1) of unsorted values. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

function meanOf(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

const frac = (bs: readonly boolean[]) => meanOf(bs.map((b) => (b ? 1 : 0)));

export function summarize(label: string, records: readonly EvalRecord[]): EvalSummary {
  const executed = records.filter((r) => r.passed !== undefined);
  const ident = records.filter((r) => r.identifierContinuation !== undefined);
  const bpb = records.filter((r) => r.bitsPerByte !== undefined && Number.isFinite(r.bitsPerByte));
  const bytes = bpb.reduce((a, r) => a + r.middleBytes, 0);
  const ms = records.map((r) => r.ms);
  return {
    label,
    n: records.length,
    pass1: executed.length ? frac(executed.map((r) => r.passed!)) : null,
    nExecuted: executed.length,
    exactMatch: frac(records.map((r) => r.exactMatch)),
    firstLineEM: frac(records.map((r) => r.firstLineExactMatch)),
    editSimilarity: meanOf(records.map((r) => r.editSimilarity)),
    prefixMatchLength: meanOf(records.map((r) => r.prefixMatchLength)),
    identifierContinuation: ident.length ? frac(ident.map((r) => r.identifierContinuation!)) : null,
    nIdentifier: ident.length,
    bitsPerByte: bpb.length ? meanOf(bpb.map((r) => r.bitsPerByte!)) : null,
    bitsPerByteTotal: bpb.length && bytes > 0 ? bpb.reduce((a, r) => a + r.bitsPerByte! * r.middleBytes, 0) / bytes : null,
    latency: { p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), mean: meanOf(ms) },
    errors: records.filter((r) => r.error !== undefined).length,
  };
}
