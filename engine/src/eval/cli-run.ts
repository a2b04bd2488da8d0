// Running evaluations from a command line (the engine CLI's `eval`, the language server's
// pipeline evaluation): a progress line on stderr per run, and the runs gathered into one report.
import { runEval, type RunEvalOptions } from './runner';
import { writeJson } from './report';
import type { EvalCase, EvalRecord, EvalRun, EvalSubject, EvalSummary } from './types';

/**
 * runEval with `label: done/total` on stderr while it runs, ended by a newline. `quiet` (the
 * caller prints JSON on stdout) writes nothing.
 */
export async function runEvalWithProgress(
  subject: EvalSubject,
  cases: readonly EvalCase[],
  opts: Omit<RunEvalOptions, 'onProgress'>,
  quiet: boolean,
): Promise<EvalRun> {
  const run = await runEval(subject, cases, {
    ...opts,
    onProgress: quiet ? undefined : (p) => process.stderr.write(`\r${subject.label}: ${p.done}/${p.total}   `),
  });
  if (!quiet) process.stderr.write('\n');
  return run;
}

/** The summaries and records of several runs, in order; written to `out` as JSON when given. */
export function gatherRuns(runs: readonly EvalRun[], out?: string): { summaries: EvalSummary[]; records: EvalRecord[] } {
  const summaries = runs.map((r) => r.summary);
  const records = runs.flatMap((r) => r.records);
  if (out) writeJson(out, summaries, records);
  return { summaries, records };
}
