import { BytefillError, Engine, ENSEMBLE_MODES, EnsembleMode, loadMidtoken, Logger, markdownTable, percentile, bundledModelsDir, fmtNum } from '../index';
import * as path from 'node:path';
import { intOpt, listOf, parseArgs } from './args';
import { engineOptions } from './options';

export interface EnsembleLatency {
  p50: number;
  p95: number;
  meanBytes: number;
  bytesPerSecond: number;
}

/**
 * bench ensemble [--model A --model B] [--ensemble mixture,product] [--prompts 15] [--max-tokens 10]
 * [--json]: single-line ensemble latency. The first N cases of the mid-token suite; each is a
 * keystroke (the prefix one character shorter was completed just before), byte mode, stop at a
 * newline. Default members: the two bundled models.
 */
export async function runBenchEnsemble(argv: string[], log: Logger): Promise<number> {
  const a = parseArgs(argv, { flags: ['json', 'verbose'], options: ['model', 'ensemble', 'weights', 'device', 'threads', 'prompts', 'max-tokens'] });
  const combos = listOf<EnsembleMode>(a, 'ensemble', ENSEMBLE_MODES, ['mixture', 'product']);
  const models = a.options.get('model') ?? ['tiny-code-a', 'tiny-code-b'].map((m) => path.join(bundledModelsDir(), m));
  if (models.length < 2) throw new BytefillError('BAD_ARGUMENT', `bench ensemble needs two or more --model folders, got ${models.length}`);
  const n = intOpt(a, 'prompts', 15)!;
  const maxTokens = intOpt(a, 'max-tokens', 10)!;
  const cases = loadMidtoken(undefined, n);
  const out: Record<string, EnsembleLatency> = {};
  for (const ensemble of combos) {
    const opts = engineOptions({ ...a, options: new Map([...a.options].filter(([k]) => k !== 'ensemble')) }, log);
    const engine = await Engine.create({ ...opts, models, ensemble });
    try {
      const ms: number[] = [];
      let bytes = 0;
      for (const c of cases) {
        await engine.complete({ prefix: c.prefix.slice(0, -1), suffix: c.suffix, mode: 'byte', stop: ['\n'], maxTokens });
        const t = performance.now();
        const r = await engine.complete({ prefix: c.prefix, suffix: c.suffix, mode: 'byte', stop: ['\n'], maxTokens });
        ms.push(performance.now() - t);
        bytes += Buffer.byteLength(r.completion);
      }
      const totalMs = ms.reduce((x, y) => x + y, 0);
      out[ensemble] = { p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), meanBytes: bytes / cases.length, bytesPerSecond: bytes / (totalMs / 1000) };
    } finally {
      await engine.dispose();
    }
  }
  if (a.flags.has('json')) console.log(JSON.stringify(out));
  else {
    console.log(`${cases.length} mid-token prompts, ${models.length} models, byte mode, stop at newline, at most ${4 * maxTokens} bytes (--max-tokens ${maxTokens})`);
    console.log(
      markdownTable(
        [{ header: 'combination' }, { header: 'p50 ms', align: 'right' }, { header: 'p95 ms', align: 'right' }, { header: 'bytes per completion (mean)', align: 'right' }, { header: 'bytes/s', align: 'right' }],
        Object.entries(out).map(([k, s]) => [k, fmtNum(s.p50, 0), fmtNum(s.p95, 0), fmtNum(s.meanBytes, 1), fmtNum(s.bytesPerSecond, 0)]),
      ),
    );
  }
  return 0;
}
