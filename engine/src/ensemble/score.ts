// Bits per byte of a document under one model or an ensemble, byte by byte:
//   bits = -Σ_i log2 p(x_i | x_<i)
// with p the member's exact next-byte distribution (ByteStream) or the combined one.
//
// Telescoped (one model, `telescoped`): -log2 of the prefix mass M(text) / M(start), M the total
// that ByteStream's distribution normalises (committed tokens' probability times the valid covers
// of the pending bytes), per context window. Rows are scored only where a window ends (one
// batched call), so it costs about the token level's forwards. It is NOT the per-byte product of
// a real model: p(x_i) = (M(i+1) + D(i+1)) / M(i), where D(i+1) is the mass the covers ending
// exactly at byte i+1 put on invalid next tokens (the per-byte distribution renormalises it away).
// So the telescoped bits are at least the per-byte bits (0.1-0.6% more on the bundled models;
// BENCHMARKS.md 17); they are equal only for a model with no mass on invalid sequences (tests:
// synthetic canonical LM). Recovering D needs the next-token distribution after every plausible
// mid-token split, i.e. the per-byte path's rows (docs/DESIGN.md, "Prefix mass and the per-byte product").
//
// Document start: the text is scored as a whole file. An empty context is not possible, so the
// context is the end-of-text token <|endoftext|> (the model's eos when the vocabulary has none):
// that is how these models saw file starts in training (documents separated by end-of-text).
//
// END is NOT counted by default: the bits are those of the text as a prefix (what the per-byte
// product gives). With countEnd the probability of ending right after the text is added.
//
// Long files: the models have 1024 positions. The context grows with committed tokens; when it
// passes maxContext (900) tokens it restarts from the last keepTokens (256) tokens, recomputing
// their KV (a fresh window; positions start again at 0). The token-level figure uses the same
// windows, so single-window texts compare exactly and longer ones nearly so.
//
// Speed: committed tokens follow the document's canonical tokenization, so the model runs over
// the document in windows once (TeacherForcedLM) and a branch that follows it is looked up; only
// non-canonical splits that can matter run a forward of their own. The branches of one such forward
// run as one sequence, their token trie, on the context's shared past (treeBranches; a padded batch
// would copy up to 900 tokens of past per branch), and the rows of the next 32 bytes join them:
// 2.4-3.6x faster on 8000 bytes (BENCHMARKS.md 17). Every such forward also runs the rows the next
// planBytes (512; fewer at a large vocabulary) bytes will need, lookahead variants included, listed from the text and the
// tokenizer (byte/row-plan.ts) and handed out only when the stream asks for them (the bits do not
// change): 2-3 forwards per 400 bytes instead of 14-34 (BENCHMARKS.md 19).
//
// Precision: with uncheckedMass = lazyMass = 0 every cover is scored and checked (exact, and
// slow). The defaults (1e-4 each) leave rows unscored and candidates unchecked only below 1e-4 of
// the row's / the observed byte's own mass (ByteStream.distributionFor); on 1000 bytes of
// textwrap.py with tiny-code-a the total moved by 0.001 bits against 1e-6 (1e-6 bits per byte)
// while running 4x faster. Telescoped, the same tolerances apply to the rows and candidates at the
// window ends only.
import { MAX_INPUT_FILE_BYTES } from '../core/limits';
import { BoundedReadError, readBounded } from '../core/bounded-read';
import * as path from 'node:path';
import { BytefillError, EngineOptions, EnsembleMode } from '../core/types';
import { ModelBundle } from '../bundle/model-bundle';
import { END } from '../byte/cover-tree';
import { utf8Encode } from '../tokenizer/utf8';
import { ByteStream } from '../byte/byte-stream';
import { combine, normalizeWeights } from './combine';
import { TeacherForcedLM } from './teacher-lm';

/** Default planBytes with tree forwards (a smaller vocabulary; see planBytesFor). */
export const PLAN_BYTES = 512;
/** The float32 logits one planned tree may return (the tree's tokens x the vocabulary). */
const PLAN_LOGITS_BYTES = 64 * 2 ** 20;

/**
 * The default planBytes of a member: PLAN_BYTES, fewer at a large vocabulary, where a tree of about
 * one token per planned byte returns planBytes x vocabSize float32 logits (512 bytes at 151,936 ids:
 * about 300 MB, and it was slower than 128 there: BENCHMARKS.md 19), at least 32.
 */
export function planBytesFor(vocabSize: number): number {
  return Math.max(32, Math.min(PLAN_BYTES, Math.floor(PLAN_LOGITS_BYTES / (4 * vocabSize))));
}

export interface ScoreMember {
  bundle: ModelBundle;
  weight: number;
}

export interface ScoreOptions {
  uncheckedMass?: number;
  lazyMass?: number;
  /** Add -log2 p(END) after the last byte (default false). */
  countEnd?: boolean;
  /** Context restart threshold and the tokens kept (defaults 900 and 256). */
  maxContext?: number;
  keepTokens?: number;
  /** Also compute the token-level bits (single model only; default true there). */
  tokenLevel?: boolean;
  /**
   * Rows of up to this many bytes ahead are scored in one batched call whenever the next byte's row
   * is unscored (ByteStream.prefetch; the document is known); they then count in the distributions.
   * With planBytes their scores usually come from the plan, without a forward. 0 = one call per
   * needed row. Default 32 with token-tree forwards (a wasted row costs a few tokens of one
   * sequence), else 8 (a padded batch copies the past per row).
   */
  prefetchBytes?: number;
  /**
   * Every forward also runs the rows that the next planBytes bytes of the document will need
   * (ByteStream.expect: enumerated from the text and the tokenizer, lookahead variants included),
   * kept until the stream asks for them: fewer, larger forwards, the same bits. Default
   * planBytesFor(the member's vocabulary) with token-tree forwards (a planned row costs a few tree
   * tokens). Only with token-tree forwards: without them (a padded batch copies the past per row)
   * nothing is planned, whatever this says.
   */
  planBytes?: number;
  /**
   * One model only: the bits from the model's prefix mass at the ends of the context windows
   * (telescoped; no per-byte distribution, rows scored only where a window ends). An upper bound
   * of the per-byte bits, by the mass the model puts on invalid continuations (see the header).
   * Default false.
   */
  telescoped?: boolean;
  /**
   * Branches of one forward as a single token-tree sequence sharing the context's past (default
   * true, where the model's graph takes a tree mask); false: left-padded batches, a copy of the
   * past per branch. The same bits up to float rounding (BENCHMARKS.md 17).
   */
  treeBranches?: boolean;
  /** Score only the first maxBytes bytes. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface ScoreResult {
  models: string[];
  mode: EnsembleMode | null;
  bytes: number;
  bits: number;
  bitsPerByte: number;
  ms: number;
  bytesPerSecond: number;
  /** Single model: -log2 P(enc(text) | start token), the canonical tokenization only (>= bits). */
  tokenLevelBits?: number;
  tokenLevelBitsPerByte?: number;
  tokens?: number;
  /** Model forwards per member (windows + non-canonical branches). */
  forwards: number[];
  forwardMs: number[];
}

/** The document-start token of a model: <|endoftext|>, else its eos id. */
export function documentStartId(b: ModelBundle): number {
  const id = b.tok.tokenId('<|endoftext|>');
  if (id !== undefined) return id;
  const eos = [b.model.config.eosTokenId ?? []].flat()[0];
  if (typeof eos === 'number') return eos;
  throw new BytefillError('UNSUPPORTED', `model ${b.name} has no end-of-text token to start a document with`);
}

export async function scoreBytes(members: ScoreMember[], mode: EnsembleMode | null, text: string | Uint8Array, opts: ScoreOptions = {}): Promise<ScoreResult> {
  if (members.length === 0) throw new BytefillError('BAD_ARGUMENT', 'scoreBytes needs at least one model');
  // The tree-mask session loads once per model and process (0.2-0.5 s), like the model: not timed.
  let trees = opts.treeBranches !== false;
  if (trees) for (const m of members) trees = (await m.bundle.model.treeSupported()) && trees;
  const t0 = performance.now();
  let x = typeof text === 'string' ? utf8Encode(text) : text;
  if (opts.maxBytes !== undefined) x = x.subarray(0, opts.maxBytes);
  const weights = normalizeWeights(members.map((m) => m.weight), members.length);
  const cmode: EnsembleMode = mode ?? 'mixture';
  const maxContext = opts.maxContext ?? 900;
  const keepTokens = opts.keepTokens ?? 256;
  const streamOpts = { uncheckedMass: opts.uncheckedMass ?? 1e-4, lazyMass: opts.lazyMass ?? 1e-4, maxContext, keepTokens };
  const signal = opts.signal;
  const prefetchBytes = opts.prefetchBytes ?? (trees ? 32 : 8);
  const planBytes = members.map((m) => (trees ? opts.planBytes ?? planBytesFor(m.bundle.model.config.vocabSize) : 0));
  const telescoped = opts.telescoped === true;
  if (telescoped && members.length !== 1) throw new BytefillError('BAD_ARGUMENT', 'telescoped scoring is for one model (a mixture of conditionals does not telescope)');

  const lms: TeacherForcedLM[] = [];
  const streams: ByteStream[] = [];
  for (const m of members) {
    const b = m.bundle;
    const start = documentStartId(b);
    const lm = new TeacherForcedLM(b.model, [start, ...b.tok.encodeBytes(x)], maxContext, { tree: opts.treeBranches });
    const ctx = await lm.first(signal);
    lms.push(lm);
    streams.push(await ByteStream.create(lm, b.tok, b.index, ctx, [start], new Uint8Array(0), { stopIds: b.template.stopIds, ...streamOpts, rowsOnDemand: telescoped }, signal));
  }

  const bits = telescoped ? await telescopedBits(streams[0], x, opts.countEnd === true, signal) : await perByteBits(streams, x, cmode, weights, opts.countEnd === true, prefetchBytes, planBytes, signal);

  const result: ScoreResult = {
    models: members.map((m) => m.bundle.name),
    mode: members.length > 1 ? cmode : null,
    bytes: x.length,
    bits,
    bitsPerByte: x.length > 0 ? bits / x.length : 0,
    ms: 0,
    bytesPerSecond: 0,
    forwards: [],
    forwardMs: [],
  };
  if (members.length === 1 && opts.tokenLevel !== false) {
    const ll = await lms[0].tokenLogLikelihood(signal);
    result.tokenLevelBits = -ll / Math.LN2;
    result.tokenLevelBitsPerByte = x.length > 0 ? result.tokenLevelBits / x.length : 0;
    result.tokens = lms[0].T.length - 1;
  }
  result.forwards = lms.map((l) => l.stats.forwards);
  result.forwardMs = lms.map((l) => Math.round(l.stats.forwardMs));
  result.ms = performance.now() - t0;
  result.bytesPerSecond = x.length / (result.ms / 1000);
  return result;
}

/** -Σ log2 of the combined next-byte probabilities of the bytes (and of END with countEnd). */
async function perByteBits(streams: ByteStream[], x: Uint8Array, mode: EnsembleMode, weights: number[], countEnd: boolean, prefetchBytes: number, planBytes: number[], signal?: AbortSignal): Promise<number> {
  const probOf = async (byte: number): Promise<number> => {
    const dists: Float64Array[] = [];
    for (const s of streams) dists.push(await s.distributionFor(byte, signal));
    return combine(mode, dists, weights)[byte];
  };
  streams.forEach((s, k) => planBytes[k] > 0 && s.expect(x, planBytes[k]));
  let bits = 0;
  for (let i = 0; i < x.length; i++) {
    bits -= Math.log2(await probOf(x[i]));
    for (const s of streams) {
      if (prefetchBytes > 0) await s.prefetch(x.subarray(i, i + prefetchBytes), signal);
      await s.push(x[i], signal);
    }
  }
  if (countEnd) bits -= Math.log2(await probOf(END));
  return bits;
}

/** One model (a rowsOnDemand stream): the bytes pushed without scoring rows, then the prefix mass. */
async function telescopedBits(s: ByteStream, x: Uint8Array, countEnd: boolean, signal?: AbortSignal): Promise<number> {
  for (const byte of x) await s.push(byte, signal);
  let bits = -(await s.telescopedLogProb(signal)) / Math.LN2;
  if (countEnd) bits -= Math.log2(s.nextByteDistribution()[END]);
  return bits;
}

export interface ScoreFilesOptions extends ScoreOptions {
  /** Score with this one model of the engine (by name or folder) instead of all of them. */
  model?: string;
  /** Combination for an ensemble (default: the engine's, else mixture). */
  ensemble?: EnsembleMode;
  onFile?: (r: FileScore) => void;
}

export interface FileScore extends ScoreResult {
  file: string;
}

export interface ScoreFilesResult {
  files: FileScore[];
  total: { bytes: number; bits: number; bitsPerByte: number; ms: number; bytesPerSecond: number; tokenLevelBits?: number; tokenLevelBitsPerByte?: number };
}

/**
 * What scoreFiles needs from the engine facade. Structural, so this layer does not import the
 * facade (api/ sits above ensemble/); an Engine is one.
 */
export interface LoadedModels {
  readonly bundles: ModelBundle[];
  readonly opts: Pick<EngineOptions, 'weights' | 'ensemble'>;
  exclusive<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T>;
}

/** Scores files one after another under the engine's models (the CLI's `score --files`). */
export async function scoreFiles(engine: LoadedModels, files: string[], opts: ScoreFilesOptions = {}): Promise<ScoreFilesResult> {
  let bundles = engine.bundles;
  let weights = normalizeWeights(engine.opts.weights, engine.bundles.length);
  if (opts.model !== undefined) {
    const want = opts.model;
    const k = engine.bundles.findIndex((b) => b.name === want || path.resolve(b.model.dir) === path.resolve(want));
    if (k < 0) throw new BytefillError('BAD_ARGUMENT', `model '${want}' is not loaded (loaded: ${engine.bundles.map((b) => b.name).join(', ')})`);
    bundles = [engine.bundles[k]];
    weights = [1];
  }
  const members = bundles.map((bundle, k) => ({ bundle, weight: weights[k] }));
  const mode = bundles.length > 1 ? opts.ensemble ?? engine.opts.ensemble ?? 'mixture' : null;
  const out: FileScore[] = [];
  for (const file of files) {
    // Regular files under the input limit only (a FIFO or /dev/zero would hang the read).
    let data: Uint8Array;
    try {
      data = readBounded(file, MAX_INPUT_FILE_BYTES);
    } catch (e) {
      if (e instanceof BoundedReadError) throw new BytefillError(e.problem === 'missing' ? 'FILE_NOT_FOUND' : 'BAD_ARGUMENT', `cannot read ${file}: it ${e.detail}`);
      throw new BytefillError('FILE_NOT_FOUND', `cannot read ${file}: ${(e as Error).message}`);
    }
    const r = await engine.exclusive(opts.signal, () => scoreBytes(members, mode, data, opts));
    const fr = { file, ...r };
    out.push(fr);
    opts.onFile?.(fr);
  }
  const bytes = out.reduce((a, r) => a + r.bytes, 0);
  const bits = out.reduce((a, r) => a + r.bits, 0);
  const ms = out.reduce((a, r) => a + r.ms, 0);
  const total: ScoreFilesResult['total'] = { bytes, bits, bitsPerByte: bytes ? bits / bytes : 0, ms, bytesPerSecond: bytes / (ms / 1000) };
  if (out.length > 0 && out.every((r) => r.tokenLevelBits !== undefined)) {
    total.tokenLevelBits = out.reduce((a, r) => a + r.tokenLevelBits!, 0);
    total.tokenLevelBitsPerByte = bytes ? total.tokenLevelBits / bytes : 0;
  }
  return { files: out, total };
}
