import { BytefillError, completeSingle, CompletionRequest, editSimilarity, Engine, findPythonStdlib, fmtNum, fmtPct, heldOutLineExamples, LineExample, Logger, percentile, uscd } from '../index';
import { intOpt, numOpt, opt, parseArgs } from './args';
import { engineOptions } from './options';

const WHAT = ['stats', 'quality', 'latency'] as const;
type What = (typeof WHAT)[number];

/**
 * bench uscd stats|quality|latency: how USCD's defaults were chosen and what it costs, on held-out
 * single lines of a Python standard library (`--python-lib DIR`, default /usr/lib/python3.N).
 *   stats    per decoding step with every step contrasted: the gate's uncertainty u, the top
 *            probability, and how often the contrast at alpha 0.3/0.5/0.7/1.0 changes the argmax
 *   quality  exact match and edit similarity of the rest of the line for each --configs entry
 *            (plain or ALPHA:THRESHOLD, comma-separated)
 *   latency  USCD against plain decoding on the same prompt, interleaved, caches cleared;
 *            --alpha 0 (default) makes both produce the same tokens, so the ratio is USCD's cost
 * Common: --examples N (default 40)  --seed S (default 7)  --model DIR  --threads N (default 2).
 */
export async function runBenchUscd(argv: string[], log: Logger): Promise<number> {
  const a = parseArgs(argv, { flags: ['verbose'], options: ['model', 'device', 'threads', 'examples', 'seed', 'python-lib', 'configs', 'rounds', 'alpha'] });
  const what = (a.positional[0] ?? 'stats') as What;
  if (!WHAT.includes(what)) throw new BytefillError('BAD_ARGUMENT', `bench uscd needs one of ${WHAT.join(', ')}; got '${what}'`);
  const root = opt(a, 'python-lib') ?? findPythonStdlib();
  if (!root) throw new BytefillError('BAD_ARGUMENT', 'no Python standard library under /usr/lib; pass --python-lib DIR');
  const exs = heldOutLineExamples(root, intOpt(a, 'examples', 40)!, intOpt(a, 'seed', 7));
  const engine = await Engine.create({ ...engineOptions(a, log), threads: intOpt(a, 'threads', 2) });
  try {
    if (what === 'stats') await stats(engine, exs);
    else if (what === 'quality') await quality(engine, exs, (opt(a, 'configs') ?? 'plain,0.5:0.2').split(','));
    else await latency(engine, exs, intOpt(a, 'rounds', 3)!, numOpt(a, 'alpha', 0)!);
  } finally {
    await engine.dispose();
  }
  return 0;
}

const request = (e: LineExample): CompletionRequest => ({ prefix: e.prefix, suffix: e.suffix, stop: ['\n'], maxTokens: 40, mode: 'byte' });
const argmax = (p: ArrayLike<number>) => {
  let k = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[k]) k = i;
  return k;
};
const sum = (xs: readonly number[]) => xs.reduce((x, y) => x + y, 0);

async function stats(engine: Engine, exs: LineExample[]): Promise<void> {
  const alphas = [0.3, 0.5, 0.7, 1.0];
  const rows: { u: number; top: number; flip: number[] }[] = [];
  const b = engine.bundles[0];
  for (const e of exs) {
    const r = request(e);
    // Threshold 1: the gate never opens, so decoding stays plain; every step's two rows are read.
    const factory = uscd.uscdStepperFactory(r, engine.budget, uscd.resolveUscdParams({ threshold: 1 }));
    await completeSingle(b, r, engine.budget, {
      makeStepper: async (ctx) => {
        const s = await factory(ctx);
        if (!(s instanceof uscd.UscdStepper)) return s;
        const probs = s.probs.bind(s);
        s.probs = (T: number) => {
          const { std, lame } = s.rowProbs();
          const am = argmax(std);
          const flip = alphas.map((alpha) => {
            const q = uscd.contrast(std, lame, alpha, 0.1);
            return q && argmax(q) !== am ? 1 : 0;
          });
          rows.push({ u: uscd.uncertainty(std), top: std[am], flip });
          return probs(T);
        };
        return s;
      },
    });
  }
  const us = rows.map((x) => x.u);
  console.log(`steps ${rows.length}; u quantiles 10/25/50/75/90%: ${[0.1, 0.25, 0.5, 0.75, 0.9].map((q) => fmtNum(percentile(us, q))).join(' ')}`);
  for (const [lo, hi] of [[0, 0.05], [0.05, 0.1], [0.1, 0.15], [0.15, 0.2], [0.2, 0.3], [0.3, 0.4], [0.4, 1]]) {
    const s = rows.filter((x) => x.u >= lo && x.u < hi);
    if (!s.length) continue;
    const flips = alphas.map((_, k) => fmtPct(sum(s.map((x) => x.flip[k])) / s.length, 0));
    console.log(`u in [${lo},${hi}): ${s.length} steps (${fmtPct(s.length / rows.length, 0)}), median top p ${fmtNum(percentile(s.map((x) => x.top), 0.5), 2)}, argmax flips a=.3/.5/.7/1: ${flips.join(' ')}`);
  }
}

async function quality(engine: Engine, exs: LineExample[], configs: string[]): Promise<void> {
  const b = engine.bundles[0];
  for (const c of configs) {
    let params: { alpha: number; threshold: number } | undefined;
    if (c !== 'plain') {
      const [alpha, threshold] = c.split(':').map(Number);
      params = uscd.resolveUscdParams({ alpha, threshold });
    }
    let exact = 0;
    let sim = 0;
    let contrasted = 0;
    let steps = 0;
    const t0 = performance.now();
    for (const e of exs) {
      const r = request(e);
      const res = params ? await uscd.completeUscdWith(b, { ...r, uscd: { enabled: true, ...params } }, engine.budget) : await completeSingle(b, r, engine.budget);
      contrasted += res.contrastedSteps ?? 0;
      steps += res.steps ?? 0;
      if (res.completion.trimEnd() === e.target.trimEnd()) exact++;
      sim += editSimilarity(res.completion.trimEnd(), e.target.trimEnd());
    }
    const contrastNote = params ? `, contrasted ${contrasted}/${steps} steps` : '';
    console.log(`${c}: exact ${exact}/${exs.length} (${fmtPct(exact / exs.length)}), edit sim ${fmtNum(sim / exs.length)}${contrastNote}, ${fmtNum((performance.now() - t0) / 1000, 1)} s`);
  }
}

async function latency(engine: Engine, exs: LineExample[], rounds: number, alpha: number): Promise<void> {
  const b = engine.bundles[0];
  const ms = { plain: [] as number[], uscd: [] as number[] };
  const tokens = { plain: 0, uscd: 0 };
  await completeSingle(b, request(exs[0]), engine.budget); // warm-up
  for (let k = 0; k < rounds; k++) {
    for (let i = 0; i < exs.length; i++) {
      const r = { ...request(exs[i]), stop: undefined, maxTokens: 24 };
      const runs: ['plain' | 'uscd', () => Promise<{ generatedTokens: number }>][] = [
        ['plain', () => completeSingle(b, r, engine.budget)],
        ['uscd', () => uscd.completeUscdWith(b, { ...r, uscd: { enabled: true, threshold: 0, alpha } }, engine.budget)],
      ];
      // Alternate which goes first so that neither always sees the other's after-effects.
      if ((i + k) % 2) runs.reverse();
      for (const [name, run] of runs) {
        b.cache.clear();
        const t = performance.now();
        const res = await run();
        ms[name].push(performance.now() - t);
        tokens[name] += res.generatedTokens;
      }
    }
  }
  const ratios = ms.plain.map((p, i) => ms.uscd[i] / p);
  console.log(`plain total ${fmtNum(sum(ms.plain), 0)} ms (${tokens.plain} tokens), uscd total ${fmtNum(sum(ms.uscd), 0)} ms (${tokens.uscd} tokens)`);
  console.log(`ms/token: plain ${fmtNum(sum(ms.plain) / tokens.plain, 1)}, uscd ${fmtNum(sum(ms.uscd) / tokens.uscd, 1)} (alpha ${alpha}, threshold 0)`);
  console.log(`ratio of totals ${fmtNum(sum(ms.uscd) / sum(ms.plain), 2)}, median per-prompt ratio ${fmtNum(percentile(ratios, 0.5), 2)}`);
}
