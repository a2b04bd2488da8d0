import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoundaryMode, BOUNDARY_MODES, BytefillError, Logger, Engine } from '../index';
import * as ev from '../index';
import { intOpt, listOf, oneOf, opt, parseArgs } from './args';
import { COMMON_FLAGS, ENGINE_OPTIONS, engineOptions, REQUEST_OPTIONS, requestOptions } from './options';

/**
 * eval build-midtoken [--out F] [--limit N] [--seed S]: (re)builds the mid-token suite from held-out code.
 * eval build-crossfile [--out F] [--limit N] [--seed S]: (re)builds the cross-file suite (run it with bench crossfile).
 * eval humaneval --set SET | eval midtoken: runs each requested mode (--mode token,heal,byte) over
 * the same cases and prints the measures side by side, plus a bootstrap comparison against the
 * first mode. --json prints {summary: [...], records: [...]}; --out and --chart write files.
 */
export async function runEvalCommand(argv: string[], log: Logger): Promise<number> {
  const a = parseArgs(argv, {
    flags: [...COMMON_FLAGS, 'no-exec', 'no-bpb'],
    options: [...ENGINE_OPTIONS, ...REQUEST_OPTIONS, 'set', 'limit', 'path', 'out', 'chart', 'label', 'case-timeout'],
  });
  const suite = a.positional[0];
  if (suite === 'build-midtoken') {
    const out = path.resolve(opt(a, 'out') ?? path.join(ev.findRepoRoot(), 'engine', 'eval-data', 'midtoken.jsonl'));
    const cases = ev.buildMidtokenSuite({ repo: ev.findRepoRoot(), out, n: intOpt(a, 'limit') ?? 300, seed: intOpt(a, 'seed') ?? 20251126 });
    console.log(`wrote ${cases.length} cases to ${out}`);
    return 0;
  }
  if (suite === 'build-crossfile') {
    const out = path.resolve(opt(a, 'out') ?? ev.defaultCrossfilePath());
    const cases = ev.buildCrossfileSuite({ out, n: intOpt(a, 'limit') ?? 120, seed: intOpt(a, 'seed') ?? 20261129, humanEvalDir: opt(a, 'path') });
    console.log(`wrote ${cases.length} cases to ${out}`);
    return 0;
  }
  if (suite !== 'humaneval' && suite !== 'midtoken') throw new BytefillError('BAD_ARGUMENT', "eval needs a suite: 'humaneval --set SET' or 'midtoken'");
  const limit = intOpt(a, 'limit');
  let cases: ev.EvalCase[];
  let firstLineOnly = true;
  if (suite === 'humaneval') {
    const set = oneOf(a, 'set', ev.HUMANEVAL_SETS, 'single-line');
    cases = ev.loadHumanEval(set, { limit, dir: opt(a, 'path') });
    firstLineOnly = set === 'single-line';
  } else {
    cases = ev.loadMidtoken(opt(a, 'path'), limit);
  }
  const modes = listOf<BoundaryMode>(a, 'mode', BOUNDARY_MODES, ['byte']);
  const base = requestOptions({ ...a, options: new Map([...a.options].filter(([k]) => k !== 'mode')) });
  // Single-line tasks stop at the end of the line; multi-line ones get a larger budget.
  const maxTokens = intOpt(a, 'max-tokens', firstLineOnly ? 48 : 128);
  const stop = base.stop ?? (firstLineOnly ? ['\n'] : undefined);
  const engine = await Engine.create(engineOptions(a, log));
  const runs: ev.EvalRun[] = [];
  const json = a.flags.has('json');
  try {
    for (const mode of modes) {
      const label = (opt(a, 'label') ?? '') + mode + (base.uscd?.enabled ? '+uscd' : '') + (engine.isEnsemble ? `+${engine.info().ensemble}` : '');
      const subject: ev.EvalSubject = {
        label,
        complete: (prefix, suffix, signal) => engine.complete({ ...base, mode, maxTokens, stop, prefix, suffix, signal }),
        middleBitsPerByte: engine.isEnsemble || a.flags.has('no-bpb') ? undefined : (p, s, m) => engine.middleBitsPerByte(p, s, m, mode),
      };
      const run = await ev.runEvalWithProgress(
        subject,
        cases,
        { firstLineOnly, execute: !a.flags.has('no-exec'), caseTimeoutMs: intOpt(a, 'case-timeout', 60_000) },
        json,
      );
      runs.push(run);
    }
  } finally {
    await engine.dispose();
  }
  const { summaries, records } = ev.gatherRuns(runs, opt(a, 'out'));
  const chart = opt(a, 'chart');
  if (chart) {
    fs.mkdirSync(path.dirname(path.resolve(chart)), { recursive: true });
    ev.writeSvgChart(chart, summaries, `${suite}${suite === 'humaneval' ? ' ' + opt(a, 'set') : ''} (${engine.info().models.map((m) => m.name).join('+')})`);
  }
  if (json) {
    console.log(JSON.stringify({ summary: summaries, records }));
    return 0;
  }
  console.log(ev.formatSummaryTable(summaries));
  for (let k = 1; k < runs.length; k++) {
    console.log(`\n${runs[k].summary.label} vs ${runs[0].summary.label}:`);
    console.log(ev.compare(runs[0], runs[k]));
  }
  return 0;
}
