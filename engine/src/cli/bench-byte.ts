// bench --byte-level: the byte layer's speed next to the same models' token-level speed, measured
// in one run (the machine's load affects both alike; compare the ratios).
//   scoring:  bytes/s of exact byte-level scoring (`score`) against token-level scoring (the
//             log-likelihood of encode(text), windows of teacher-forced forwards), per byte and
//             telescoped (`score --telescoped`, with its bits above the per-byte bits);
//   decoding: single-line completion latency (p50/p95) and bytes/s of the byte-level ensemble of
//             all loaded models against each model's token-mode completion, on mid-token prompts
//             (a keystroke: the previous prefix was completed just before);
//   validity: deciding validity for every vocabulary token after a few tails, by re-encoding and
//             from the merge ranks (byte/validity.ts), in ms per whole-vocabulary row;
//   next-byte: the exact next-byte distribution (every cover scored and checked) along a text,
//             in ms per byte and in model decode steps per byte (one step: one token forward on a
//             cached context, measured in the same run).
import * as fs from 'node:fs';
import { BytefillError, Engine, EngineOptions, ensemble, percentile, EvalCase, measureForward, measureValidity, ValidityTiming } from '../index';

export type BenchPart = 'validity' | 'scoring' | 'decoding' | 'next-byte';
export const BENCH_PARTS: readonly BenchPart[] = ['validity', 'scoring', 'decoding', 'next-byte'];

export interface ByteBenchOptions {
  parts: BenchPart[];
  /** Bytes of the first file walked for the next-byte part. */
  nextByteBytes: number;
  files: string[];
  maxBytes: number;
  cases: EvalCase[];
  maxTokens: number;
  tolerance: number;
}

export interface ScoringSpeed {
  model: string;
  bytes: number;
  tokenLevelBytesPerSecond: number;
  byteLevelBytesPerSecond: number;
  /** byte-level / token-level. */
  ratio: number;
  forwards: number;
  /** score --telescoped: bytes/s, its ratio to token level, forwards, bits minus the per-byte bits. */
  telescopedBytesPerSecond: number;
  telescopedRatio: number;
  telescopedForwards: number;
  telescopedExtraBits: number;
}

export interface DecodingSpeed {
  run: string;
  p50Ms: number;
  p95Ms: number;
  meanBytes: number;
  bytesPerSecond: number;
}

export interface NextByteCost {
  model: string;
  vocabSize: number;
  bytes: number;
  msPerByte: number;
  decodeStepMs: number;
  /** msPerByte / decodeStepMs. */
  stepsPerByte: number;
  forwardsPerByte: number;
  /** A second walk, over the next bytes of the file (per-tokenizer setup done). */
  warmMsPerByte: number;
  warmStepsPerByte: number;
}

export interface ByteBenchResult {
  validity: Array<ValidityTiming & { model: string }>;
  scoring: ScoringSpeed[];
  decoding: DecodingSpeed[];
  nextByte: NextByteCost[];
}

function readTexts(files: string[], maxBytes: number): Uint8Array[] {
  return files.map((f) => {
    try {
      return new Uint8Array(fs.readFileSync(f)).subarray(0, maxBytes);
    } catch (e) {
      throw new BytefillError('FILE_NOT_FOUND', `cannot read ${f}: ${(e as Error).message}`);
    }
  });
}

export async function runByteBench(engineOpts: EngineOptions, o: ByteBenchOptions, progress: (s: string) => void = () => {}): Promise<ByteBenchResult> {
  const texts = readTexts(o.files, o.maxBytes);
  const scoring: ScoringSpeed[] = [];
  const decoding: DecodingSpeed[] = [];
  const nextByte: NextByteCost[] = [];
  const validity: ByteBenchResult['validity'] = [];
  const all = await Engine.create(engineOpts);
  try {
    if (o.parts.includes('validity')) {
      for (const b of all.bundles) for (const v of measureValidity(b.tok, [' self', '    ', 'def', 'x'])) validity.push({ model: b.name, ...v });
      progress('.');
    }
    if (o.parts.includes('next-byte')) {
      const x = texts[0].subarray(0, o.nextByteBytes);
      // Cold: the first walk of a fresh process (per-tokenizer setup included). Warm: a second walk
      // over the next bytes of the file in the same process (the setup done, as in an editor
      // session; rows of other tails are new, so only tails that recur hit the row caches).
      const next = texts[0].subarray(o.nextByteBytes, 2 * o.nextByteBytes);
      for (const b of all.bundles) {
        const walk = async (bytes: Uint8Array) => {
          const lm = new ensemble.OnnxBranchLM(b.model);
          const start = [ensemble.documentStartId(b)];
          const ctx = await lm.start(start);
          const before = lm.stats.forwards;
          const t0 = performance.now();
          const s = await ensemble.ByteStream.create(lm, b.tok, b.index, ctx, start, new Uint8Array(0), { stopIds: b.template.stopIds, uncheckedMass: 0, lazyMass: 0 });
          for (const byte of bytes) {
            s.nextByteDistribution();
            await s.push(byte);
          }
          s.nextByteDistribution();
          return { ms: (performance.now() - t0) / (bytes.length + 1), forwards: (lm.stats.forwards - before) / (bytes.length + 1) };
        };
        // The decode step is measured before and after the walks (the machine's load drifts).
        const step0 = (await measureForward(b.model, { promptTokens: 64, decodeSteps: 16 })).decodeMsPerStep;
        const cold = await walk(x);
        const warm = next.length > 0 ? await walk(next) : cold;
        const step1 = (await measureForward(b.model, { promptTokens: 64, decodeSteps: 16 })).decodeMsPerStep;
        const decodeStepMs = (step0 + step1) / 2;
        nextByte.push({ model: b.name, vocabSize: b.tok.vocabSize, bytes: x.length, msPerByte: cold.ms, decodeStepMs, stepsPerByte: cold.ms / decodeStepMs, forwardsPerByte: cold.forwards, warmMsPerByte: warm.ms, warmStepsPerByte: warm.ms / decodeStepMs });
        progress('.');
      }
    }
    // Scoring, per model: token level then byte level on the same texts.
    for (const b of o.parts.includes('scoring') ? all.bundles : []) {
      let bytes = 0;
      let tokMs = 0;
      let byteMs = 0;
      let forwards = 0;
      let telMs = 0;
      let telForwards = 0;
      let extraBits = 0;
      for (const x of texts) {
        const t0 = performance.now();
        const lm = new ensemble.TeacherForcedLM(b.model, [ensemble.documentStartId(b), ...b.tok.encodeBytes(x)], 900);
        await lm.first();
        await lm.tokenLogLikelihood();
        tokMs += performance.now() - t0;
        const opts = { uncheckedMass: o.tolerance, lazyMass: o.tolerance, tokenLevel: false };
        const t = await ensemble.scoreBytes([{ bundle: b, weight: 1 }], null, x, { ...opts, telescoped: true });
        telMs += t.ms;
        telForwards += t.forwards[0];
        const r = await ensemble.scoreBytes([{ bundle: b, weight: 1 }], null, x, opts);
        extraBits += t.bits - r.bits;
        byteMs += r.ms;
        forwards += r.forwards[0];
        bytes += x.length;
        progress('.');
      }
      const tok = bytes / (tokMs / 1000);
      const byt = bytes / (byteMs / 1000);
      const tel = bytes / (telMs / 1000);
      scoring.push({ model: b.name, bytes, tokenLevelBytesPerSecond: tok, byteLevelBytesPerSecond: byt, ratio: byt / tok, forwards, telescopedBytesPerSecond: tel, telescopedRatio: tel / tok, telescopedForwards: telForwards, telescopedExtraBits: extraBits });
    }
    // Decoding: each model in token mode, and the byte-level ensemble of all of them.
    const cases = o.parts.includes('decoding') ? o.cases : [];
    const runs: Array<{ run: string; engine: Engine; mode: 'token' | 'byte' }> = [];
    for (const b of all.bundles) runs.push({ run: `${b.name} token`, engine: await Engine.create({ ...engineOpts, models: [b.model.dir] }), mode: 'token' });
    runs.push({ run: all.bundles.length > 1 ? `ensemble (${all.info().ensemble}) byte` : `${all.bundles[0].name} byte`, engine: all, mode: 'byte' });
    const ms = runs.map(() => [] as number[]);
    const outBytes = runs.map(() => [] as number[]);
    for (const c of cases) {
      // Interleaved per prompt so that every run sees the same load.
      for (let k = 0; k < runs.length; k++) {
        const { engine, mode } = runs[k];
        const req = { suffix: c.suffix, mode, stop: ['\n'], maxTokens: o.maxTokens };
        await engine.complete({ ...req, prefix: c.prefix.slice(0, -1) });
        const t0 = performance.now();
        const r = await engine.complete({ ...req, prefix: c.prefix });
        ms[k].push(performance.now() - t0);
        outBytes[k].push(Buffer.byteLength(r.completion));
      }
      progress('.');
    }
    if (cases.length > 0) runs.forEach((r, k) => {
      const totB = outBytes[k].reduce((a, b) => a + b, 0);
      const totMs = ms[k].reduce((a, b) => a + b, 0);
      decoding.push({ run: r.run, p50Ms: percentile(ms[k], 0.5), p95Ms: percentile(ms[k], 0.95), meanBytes: totB / Math.max(1, cases.length), bytesPerSecond: totB / (totMs / 1000) });
    });
    for (const r of runs) if (r.engine !== all) await r.engine.dispose();
  } finally {
    await all.dispose();
  }
  return { validity, scoring, decoding, nextByte };
}

export function formatByteBench(r: ByteBenchResult): string {
  const lines: string[] = [];
  if (r.validity.length > 0) lines.push('validity of every token after a tail (ms per row):', 'model          tail      tokens   re-encoding  merge ranks  speed-up  re-encoded');
  for (const v of r.validity) lines.push(`${v.model.padEnd(14)} ${JSON.stringify(v.tail).padEnd(8)} ${String(v.tokens).padStart(7)}  ${v.reencodeMs.toFixed(0).padStart(11)}  ${v.mergeRanksMs.toFixed(0).padStart(11)}  ${(v.reencodeMs / v.mergeRanksMs).toFixed(1).padStart(8)}  ${String(v.reencoded).padStart(10)}`);
  if (r.scoring.length > 0) lines.push('scoring (bytes/s; telescoped: score --telescoped, +bits: its bits minus the per-byte bits):', 'model          token-level  byte-level  ratio  forwards  telescoped  ratio  forwards  +bits');
  for (const s of r.scoring) lines.push(`${s.model.padEnd(14)} ${s.tokenLevelBytesPerSecond.toFixed(0).padStart(11)}  ${s.byteLevelBytesPerSecond.toFixed(1).padStart(10)}  ${s.ratio.toFixed(3).padStart(5)}  ${String(s.forwards).padStart(8)}  ${s.telescopedBytesPerSecond.toFixed(1).padStart(10)}  ${s.telescopedRatio.toFixed(3).padStart(5)}  ${String(s.telescopedForwards).padStart(8)}  ${s.telescopedExtraBits.toFixed(3).padStart(5)}`);
  if (r.nextByte.length > 0) lines.push('exact next-byte distribution (cold: first walk; warm: a second walk over the next bytes):', 'model          vocab   ms/byte  step ms  steps/byte  forwards/byte  warm ms/byte  warm steps/byte');
  for (const c of r.nextByte) lines.push(`${c.model.padEnd(14)} ${String(c.vocabSize).padStart(6)}  ${c.msPerByte.toFixed(1).padStart(7)}  ${c.decodeStepMs.toFixed(2).padStart(7)}  ${c.stepsPerByte.toFixed(2).padStart(10)}  ${c.forwardsPerByte.toFixed(2).padStart(13)}  ${c.warmMsPerByte.toFixed(1).padStart(12)}  ${c.warmStepsPerByte.toFixed(2).padStart(15)}`);
  if (r.decoding.length > 0) lines.push('single-line completion:', 'run                          p50 ms   p95 ms  bytes  bytes/s');
  for (const d of r.decoding) lines.push(`${d.run.padEnd(28)} ${d.p50Ms.toFixed(0).padStart(6)}  ${d.p95Ms.toFixed(0).padStart(7)}  ${d.meanBytes.toFixed(1).padStart(5)}  ${d.bytesPerSecond.toFixed(0).padStart(7)}`);
  return lines.join('\n');
}
