import * as os from 'node:os';
import { BoundaryMode, BOUNDARY_MODES, BytefillError, Logger, Engine, measureForward, measureBandwidth, measureSampling, loadMidtoken, percentile } from '../index';
import { intOpt, listOf, numOpt, parseArgs } from './args';
import { BENCH_PARTS, BenchPart, formatByteBench, runByteBench } from './bench-byte';
import { COMMON_FLAGS, ENGINE_OPTIONS, engineOptions, REQUEST_OPTIONS, requestOptions } from './options';

interface ModeStats {
  mode: string;
  /** Time to the first token (byte mode: to the chosen cover): the prompt-boundary cost alone. */
  firstTokenP50: number;
  firstRatioToFirst?: number;
  meanGeneratedTokens: number;
  warmP50: number;
  warmP95: number;
  coldP50: number;
  coldP95: number;
  coversMean?: number;
  coversMax?: number;
  ratioToFirst?: number;
}

/**
 * bench: forward latency (prefill of 512 tokens, one decode step) and whole single-line completion
 * latency on fixed prompts (the first N cases of the mid-token suite: held-out code). "warm" is a
 * keystroke: the same prompt one character shorter was completed just before (prefix KV cache
 * warm); "cold" clears the caches first. Modes are interleaved per prompt so that they see the
 * same machine load; compare them as ratios.
 */
export async function runBench(argv: string[], log: Logger): Promise<number> {
  const a = parseArgs(argv, { flags: [...COMMON_FLAGS, 'bandwidth', 'byte-level'], options: [...ENGINE_OPTIONS, ...REQUEST_OPTIONS, 'prompts', 'prefill-tokens', 'decode-steps', 'files', 'max-bytes', 'tolerance', 'parts', 'next-byte-bytes'] });
  if (a.flags.has('byte-level')) {
    // bench --byte-level --files F... : byte layer against token level (see bench-byte.ts).
    const files = [...(a.options.get('files') ?? []), ...a.positional];
    if (files.length === 0) throw new BytefillError('BAD_ARGUMENT', 'bench --byte-level needs --files PATH... (texts to score)');
    const json = a.flags.has('json');
    const r = await runByteBench(
      engineOptions(a, log),
      { parts: listOf<BenchPart>(a, 'parts', BENCH_PARTS, [...BENCH_PARTS]), nextByteBytes: intOpt(a, 'next-byte-bytes', 40)!, files, maxBytes: intOpt(a, 'max-bytes', 1000)!, cases: loadMidtoken(undefined, intOpt(a, 'prompts', 15)), maxTokens: intOpt(a, 'max-tokens', 10)!, tolerance: numOpt(a, 'tolerance', 1e-4)! },
      json ? undefined : (s) => process.stderr.write(s),
    );
    if (json) console.log(JSON.stringify({ date: new Date().toISOString(), machine: machine(), ...r }, null, 2));
    else console.log(`\nmachine: ${machine()}\n${formatByteBench(r)}`);
    return 0;
  }
  const modes = listOf<BoundaryMode>(a, 'mode', BOUNDARY_MODES, ['token', 'byte']);
  const n = intOpt(a, 'prompts', 20)!;
  const base = requestOptions({ ...a, options: new Map([...a.options].filter(([k]) => k !== 'mode')) });
  const tLoad = performance.now();
  const engine = await Engine.create(engineOptions(a, log));
  const loadMs = performance.now() - tLoad;
  const json = a.flags.has('json');
  try {
    const forward = [];
    for (const b of engine.bundles) {
      const m = await measureForward(b.model, { promptTokens: intOpt(a, 'prefill-tokens', 512), decodeSteps: intOpt(a, 'decode-steps', 32) });
      // One sampled token at this vocabulary (softmax + top-k 40 / top-p 0.95) vs the model step.
      const r = await b.model.forward(null, [[1, 2, 3]]);
      const s = measureSampling(r.logits[0][0]);
      forward.push({
        model: b.name,
        provider: b.model.provider,
        prefillMs: m.prefillMs,
        decodeMsPerStep: m.decodeMsPerStep,
        sampling: { vocab: s.vocab, sampleMs: s.sampleMs, sortingMs: s.sortingMs, shareOfDecodeStep: s.sampleMs / m.decodeMsPerStep },
      });
    }
    const threads = intOpt(a, 'threads', undefined);
    const bandwidth = a.flags.has('bandwidth') ? await measureBandwidth(threads ?? 2) : undefined;
    const cases = loadMidtoken(undefined, n);
    const warm = new Map<string, number[]>(modes.map((m) => [m, []]));
    const cold = new Map<string, number[]>(modes.map((m) => [m, []]));
    const covers = new Map<string, number[]>(modes.map((m) => [m, []]));
    const first = new Map<string, number[]>(modes.map((m) => [m, []]));
    const gen = new Map<string, number[]>(modes.map((m) => [m, []]));
    const req = (prefix: string, suffix: string, mode: BoundaryMode) => engine.complete({ ...base, mode, prefix, suffix, stop: base.stop ?? ['\n'], maxTokens: intOpt(a, 'max-tokens', 24) });
    for (const c of cases) {
      for (const mode of modes) {
        for (const b of engine.bundles) b.cache.clear();
        const t0 = performance.now();
        await req(c.prefix, c.suffix, mode);
        cold.get(mode)!.push(performance.now() - t0);
        // Warm: the previous keystroke (one character less) was completed just before.
        for (const b of engine.bundles) b.cache.clear();
        await req(c.prefix.slice(0, -1), c.suffix, mode);
        const t1 = performance.now();
        const r = await req(c.prefix, c.suffix, mode);
        warm.get(mode)!.push(performance.now() - t1);
        if (r.covers !== undefined) covers.get(mode)!.push(r.covers);
        first.get(mode)!.push(r.firstTokenMs ?? NaN);
        gen.get(mode)!.push(r.generatedTokens);
      }
      if (!json) process.stderr.write('.');
    }
    if (!json) process.stderr.write('\n');
    const stats: ModeStats[] = modes.map((mode) => {
      const w = warm.get(mode)!;
      const cv = covers.get(mode)!;
      const g = gen.get(mode)!;
      return {
        mode,
        firstTokenP50: percentile(first.get(mode)!, 0.5),
        meanGeneratedTokens: g.reduce((x, y) => x + y, 0) / g.length,
        warmP50: percentile(w, 0.5),
        warmP95: percentile(w, 0.95),
        coldP50: percentile(cold.get(mode)!, 0.5),
        coldP95: percentile(cold.get(mode)!, 0.95),
        coversMean: cv.length ? cv.reduce((x, y) => x + y, 0) / cv.length : undefined,
        coversMax: cv.length ? Math.max(...cv) : undefined,
      };
    });
    for (const s of stats) {
      s.ratioToFirst = s.warmP50 / stats[0].warmP50;
      s.firstRatioToFirst = s.firstTokenP50 / stats[0].firstTokenP50;
    }
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      models: engine.info().models.map((m) => m.name),
      prompts: cases.length,
      loadMs,
      /** Peak resident memory of this process so far (MB). */
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      forward,
      bandwidth,
      completion: stats,
    };
    if (json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`machine: ${result.machine}`);
      console.log(`load ${loadMs.toFixed(0)} ms, peak RSS ${result.peakRssMb.toFixed(0)} MB`);
      for (const f of forward) {
        console.log(`${f.model} (${f.provider}): prefill 512 tokens ${f.prefillMs.toFixed(1)} ms, decode step ${f.decodeMsPerStep.toFixed(2)} ms`);
        const s = f.sampling;
        console.log(`  sampling at ${s.vocab} ids: ${s.sampleMs.toFixed(2)} ms per token (${(100 * s.shareOfDecodeStep).toFixed(1)}% of a decode step; sorting every id: ${s.sortingMs.toFixed(1)} ms)`);
      }
      if (bandwidth) console.log(`memory read bandwidth, ${bandwidth.threads} threads: ${bandwidth.gbPerS.toFixed(1)} GB/s`);
      console.log(`single-line completion over ${cases.length} prompts (ms):`);
      console.log('mode    warm p50  warm p95  cold p50  cold p95  warm ratio  1st-token p50 (ratio)  tokens  covers mean/max');
      for (const s of stats) {
        console.log(
          `${s.mode.padEnd(7)} ${s.warmP50.toFixed(1).padStart(8)}  ${s.warmP95.toFixed(1).padStart(8)}  ${s.coldP50.toFixed(1).padStart(8)}  ${s.coldP95.toFixed(1).padStart(8)}  ${s.ratioToFirst!.toFixed(2).padStart(10)}  ${s.firstTokenP50.toFixed(1).padStart(7)} (${s.firstRatioToFirst!.toFixed(2)})  ${s.meanGeneratedTokens.toFixed(1).padStart(6)}  ${s.coversMean !== undefined ? `${s.coversMean.toFixed(1)}/${s.coversMax}` : '-'}`,
        );
      }
    }
  } finally {
    await engine.dispose();
  }
  return 0;
}

function machine(): string {
  return `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
}
