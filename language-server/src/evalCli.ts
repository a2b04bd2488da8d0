// CLI: the engine's evaluation through the server's pipeline (see evalPipeline.ts).
//   node out/language-server/src/evalCli.js humaneval --set random-span-light --limit 40 --mode token,byte
//   node out/language-server/src/evalCli.js midtoken --mode byte
// For each mode it prints the raw engine output of the server's request and the post-processed
// output side by side, and the bootstrap comparison of post-processed against raw.
import * as ev from '../../engine/src/index';
import { BOUNDARY_MODES, BoundaryMode, BytefillError, Engine } from '../../engine/src/index';
import { DEFAULT_CONFIG } from './protocol';
import { pipelineSubjects } from './evalPipeline';

const FLAGS = ['json', 'no-exec', 'verbose'];
const OPTIONS = ['model', 'device', 'mode', 'set', 'limit', 'path', 'out', 'max-tokens', 'max-time', 'case-timeout'];

interface Args {
  positional: string[];
  flags: Set<string>;
  options: Map<string, string>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { positional: [], flags: new Set(), options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (!t.startsWith('--')) a.positional.push(t);
    else if (FLAGS.includes(t.slice(2))) a.flags.add(t.slice(2));
    else if (OPTIONS.includes(t.slice(2))) {
      if (i + 1 >= argv.length) throw new BytefillError('BAD_ARGUMENT', `${t} needs a value`);
      a.options.set(t.slice(2), argv[++i]);
    } else throw new BytefillError('BAD_ARGUMENT', `unknown option ${t} (options: ${[...FLAGS, ...OPTIONS].map((o) => '--' + o).join(' ')})`);
  }
  return a;
}

const opt = (a: Args, k: string): string | undefined => a.options.get(k);
function intOpt(a: Args, k: string, fallback?: number): number | undefined {
  const v = a.options.get(k);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new BytefillError('BAD_ARGUMENT', `--${k}: expected a non-negative integer, got '${v}'`);
  return n;
}
function oneOf<T extends string>(a: Args, k: string, allowed: readonly T[], fallback: T): T {
  const v = a.options.get(k) ?? fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new BytefillError('BAD_ARGUMENT', `--${k}: expected one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}
function listOf<T extends string>(a: Args, k: string, allowed: readonly T[], fallback: T[]): T[] {
  const v = a.options.get(k);
  if (v === undefined) return fallback;
  return v.split(',').map((x) => oneOf({ ...a, options: new Map([[k, x.trim()]]) }, k, allowed, fallback[0]));
}

export async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const suite = a.positional[0];
  if (suite !== 'humaneval' && suite !== 'midtoken') throw new BytefillError('BAD_ARGUMENT', "evalCli needs a suite: 'humaneval --set SET' or 'midtoken'");
  const limit = intOpt(a, 'limit');
  const cases =
    suite === 'humaneval' ? ev.loadHumanEval(oneOf(a, 'set', ev.HUMANEVAL_SETS, 'random-span-light'), { limit, dir: opt(a, 'path') }) : ev.loadMidtoken(opt(a, 'path'), limit);
  // HumanEval is Python; mid-token cases name their language.
  const langs = new Map(cases.map((c) => [`${c.prefix}\u0000${c.suffix}`, languageIdOf(c.lang)]));
  const modes = listOf<BoundaryMode>(a, 'mode', BOUNDARY_MODES, ['byte']);
  const log: ev.Logger = a.flags.has('verbose') ? (l, m) => void process.stderr.write(`[${l}] ${m}\n`) : () => undefined;
  const models = opt(a, 'model')?.split(',').map((m) => m.trim()).filter(Boolean);
  const device = opt(a, 'device') as ev.Device | undefined;
  const engine = await Engine.create({ models, device, log });
  const json = a.flags.has('json');
  const runs: ev.EvalRun[] = [];
  const decisions: Record<string, { multi: number; single: number }> = {};
  try {
    for (const mode of modes) {
      const d = (decisions[mode] = { multi: 0, single: 0 });
      const { raw, server } = pipelineSubjects(engine, {
        mode,
        languageOf: (p, s) => langs.get(`${p}\u0000${s}`) ?? 'python',
        maxTokens: intOpt(a, 'max-tokens', DEFAULT_CONFIG.maxTokens)!,
        maxTimeMs: intOpt(a, 'max-time', DEFAULT_CONFIG.maxTimeMs),
        onDecision: (m) => (m ? d.multi++ : d.single++),
      });
      for (const subject of [raw, server]) {
        const run = await ev.runEvalWithProgress(
          subject,
          cases,
          { execute: !a.flags.has('no-exec'), bitsPerByte: false, caseTimeoutMs: intOpt(a, 'case-timeout', 60_000) },
          json,
        );
        runs.push(run);
      }
    }
  } finally {
    await engine.dispose();
  }
  const { summaries, records } = ev.gatherRuns(runs, opt(a, 'out'));
  if (json) {
    console.log(JSON.stringify({ summary: summaries, records, decisions }));
    return 0;
  }
  console.log(ev.formatSummaryTable(summaries));
  for (const [mode, d] of Object.entries(decisions)) console.log(`${mode}: server decided multi-line for ${d.multi} cases, single-line for ${d.single}`);
  for (let k = 0; k + 1 < runs.length; k += 2) {
    console.log(`\n${runs[k + 1].summary.label} vs ${runs[k].summary.label}:`);
    console.log(ev.compare(runs[k], runs[k + 1]));
  }
  if (runs.length >= 4) {
    console.log(`\n${runs[3].summary.label} vs ${runs[1].summary.label}:`);
    console.log(ev.compare(runs[1], runs[3]));
  }
  return 0;
}

const LANGUAGE_IDS: Record<string, string> = { py: 'python', ts: 'typescript', js: 'javascript', rs: 'rust', go: 'go', c: 'c', cpp: 'cpp', java: 'java' };
function languageIdOf(lang: string | undefined): string {
  if (!lang) return 'python';
  const l = lang.toLowerCase();
  return LANGUAGE_IDS[l] ?? l;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(e instanceof BytefillError ? 2 : 1);
    },
  );
}
