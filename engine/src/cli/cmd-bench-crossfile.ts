import { BOUNDARY_MODES, BoundaryMode, CrossfileSummary, CrossfileVariant, Engine, fmtNum, fmtPct, loadCrossfile, Logger, runCrossfile } from '../index';
import { intOpt, listOf, opt, parseArgs } from './args';
import { engineOptions } from './options';

/**
 * bench crossfile: the cross-file suite (engine/eval-data/crossfile.jsonl) with the context at each
 * --context-tokens budget (comma-separated; 0 = no context), per --mode (default byte). Prints
 * exact match, edit similarity, the right name, prompt/context tokens, latency, and the KV-cache
 * reuse of the next keystroke's request. --limit N cases (default all), --cursor after-dot|mid-name, --path FILE, --json.
 */
export async function runBenchCrossfile(argv: string[], log: Logger): Promise<number> {
  const a = parseArgs(argv, { flags: ['json', 'verbose'], options: ['model', 'device', 'threads', 'limit', 'path', 'context-tokens', 'mode', 'max-tokens', 'cursor'] });
  const cursor = opt(a, 'cursor');
  const cases = loadCrossfile(opt(a, 'path')).filter((c) => !cursor || c.cursor === cursor).slice(0, intOpt(a, 'limit'));
  const budgets = (opt(a, 'context-tokens') ?? '0,256,512').split(',').map((s) => Number(s.trim()));
  if (budgets.some((b) => !Number.isInteger(b) || b < 0)) throw new Error('--context-tokens takes non-negative integers, comma-separated');
  const modes = listOf<BoundaryMode>(a, 'mode', BOUNDARY_MODES, ['byte']);
  const variants: CrossfileVariant[] = modes.flatMap((mode) => budgets.map((t) => ({ label: `${mode} ctx=${t}`, contextTokens: t, mode })));
  const engine = await Engine.create({ ...engineOptions(a, log), threads: intOpt(a, 'threads', 2) });
  let rows: CrossfileSummary[];
  try {
    rows = await runCrossfile((req) => engine.complete(req), cases, variants, {
      maxTokens: intOpt(a, 'max-tokens', 32),
      onCase: (i) => process.stderr.write(`\r${i + 1}/${cases.length}`),
    });
  } finally {
    process.stderr.write('\n');
    await engine.dispose();
  }
  if (a.flags.has('json')) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  const kinds = [...new Set(cases.map((c) => c.cursor))].map((k) => `${cases.filter((c) => c.cursor === k).length} ${k}`).join(', ');
  console.log(`cross-file suite: ${cases.length} cases (${kinds}), model ${engine.info().models.map((m) => m.name).join('+')}`);
  console.log('| variant | EM | edit sim. | right name | prompt tokens | context tokens | p50 ms | p95 ms | next key: KV reuse | next key: tokens computed | next key p50 ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${fmtPct(r.exactMatch)} | ${fmtNum(r.editSimilarity, 3)} | ${fmtPct(r.nameMatch)} | ${fmtNum(r.promptTokens, 0)} | ${fmtNum(r.contextTokens, 0)} | ` +
        `${fmtNum(r.latency.p50, 0)} | ${fmtNum(r.latency.p95, 0)} | ${fmtPct(r.nextKeyReuse)} | ${fmtNum(r.nextKeyComputed, 1)} | ${fmtNum(r.nextKeyLatency.p50, 0)} |`,
    );
  }
  return 0;
}
