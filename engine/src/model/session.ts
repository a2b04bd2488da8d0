// Creates the onnxruntime InferenceSession and picks the execution provider.
//
// Order for device 'auto' (linux/win): cuda (only when onnxruntime-node's CUDA binaries were
// downloaded at install), then webgpu (only when BYTEFILL_WEBGPU=1, and on Linux only when the
// machine has a GPU device node), then cpu.
//
// Why webgpu is opt-in under 'auto': without a GPU and without the Vulkan loader, creating a
// webgpu session fails fast (~20 ms, "Failed to get a WebGPU adapter"); but with Mesa's software
// Vulkan driver (lavapipe, adapter "llvmpipe") Dawn gets a CPU "adapter" that works and is far
// slower than the CPU provider (BENCHMARKS.md), and for the small bundled models a GPU is not
// known to beat the CPU. So 'auto' never silently picks it; users opt in with device 'webgpu' or
// BYTEFILL_WEBGPU=1. onnxruntime-node does not say which adapter Dawn picked, so a software one is
// recognised by its cause: on Linux, no GPU device node (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as ort from './ort';
import { BytefillError, Device, Logger, Provider } from '../core/types';
import { claimWrite, dropCached, markSaved, optimizedGraph, saveOptions } from './optimized-cache';

export interface SessionOptions {
  device?: Device;
  threads?: number;
  log?: Logger;
  /** Output names that should stay on the device (present.* KV) on webgpu/cuda. */
  deviceOutputs?: string[];
  /** Output names that must come to the CPU (logits). */
  hostOutputs?: string[];
  /** CPU: save the optimised graph on first load and load it next time (default true). */
  cacheOptimized?: boolean;
  /** Graph optimisation level when nothing is cached (default 'all'). */
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** onnxruntime CPU memory options (see CpuTuning). */
  cpu?: CpuTuning;
  /**
   * The graph the CPU provider should load instead of `file` (e.g. with integer activations),
   * asked only when the CPU provider is used; if it does not load, `file` is loaded.
   */
  cpuFile?: (file: string) => string;
}

/**
 * onnxruntime's CPU memory and thread-pool options, measured for a 0.5B decoder in BENCHMARKS.md
 * ("Session options by measurement"); undefined keeps onnxruntime's own default.
 */
export interface CpuTuning {
  /** Arena allocator for CPU tensors (onnxruntime default: on). */
  memArena?: boolean;
  /**
   * Pre-planned buffer reuse for repeated input shapes. onnxruntime's default is on; ours is off on
   * the CPU: a decode step's shapes change every step (the KV cache grows by one), so a plan is
   * never reused, and turning it off measured a faster decode step at the same peak RSS
   * (BENCHMARKS.md, "Session options by measurement").
   */
  memPattern?: boolean;
  /**
   * Intra-op threads spin between parallel sections instead of sleeping. onnxruntime's default is
   * on; ours is off (environment BYTEFILL_ORT_SPINNING=1 turns it on): on a machine shared with
   * other work (an editor's, always) spinning threads fight the other processes for the cores and
   * the step gets slower, not faster (BENCHMARKS.md, "Session options by measurement"), and they
   * burn CPU after every forward while the user types.
   */
  spinning?: boolean;
}

/** The intra-op spinning setting used when none is given (see CpuTuning.spinning). */
export function defaultSpinning(): boolean {
  return process.env.BYTEFILL_ORT_SPINNING === '1';
}

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: Provider;
  threads: number;
}

const noLog: Logger = () => undefined;

/** First line of an onnxruntime error, without its source-location preamble. */
function ortMessage(e: unknown, max = 300): string {
  let m = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  const i = m.indexOf(' was false. ');
  if (i >= 0) m = m.slice(i + 12);
  return m.slice(0, max);
}

/** Whether onnxruntime-node reports `name` as a bundled (installed) backend. */
export function backendInstalled(name: string): boolean {
  try {
    return ort.listSupportedBackends().some((b) => b.name === name && b.bundled);
  } catch {
    return false;
  }
}

const CUDA_MISSING =
  "the CUDA provider is not installed: onnxruntime-node's install script must download the CUDA 12 binaries " +
  '(run npm install with network access, without ONNXRUNTIME_NODE_INSTALL=skip / onnxruntime-node-install=skip; ' +
  'it also needs an NVIDIA driver with CUDA 12 and cuDNN 9)';

/**
 * Linux: whether the machine has a GPU device node that a Vulkan driver could drive. Without one,
 * any WebGPU adapter is a software one. Other platforms: undefined (not known).
 */
export function gpuDeviceNode(devDir = '/dev'): string | null | undefined {
  if (process.platform !== 'linux') return undefined;
  const names = (d: string): string[] => {
    try {
      return fs.readdirSync(d);
    } catch {
      return [];
    }
  };
  const render = names(`${devDir}/dri`).find((n) => n.startsWith('renderD'));
  if (render) return `${devDir}/dri/${render}`;
  const other = names(devDir).find((n) => /^nvidia\d+$/.test(n) || n === 'dxg');
  return other ? `${devDir}/${other}` : null;
}

export function defaultThreads(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(cores, 8));
}

/** The onnxruntime session options for a provider (exported for tests). */
export function sessionOptions(provider: Provider, threads: number, o: SessionOptions): ort.InferenceSession.SessionOptions {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: o.optimizationLevel ?? 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
  };
  const cpu = o.cpu ?? {};
  if (cpu.memArena !== undefined) opts.enableCpuMemArena = cpu.memArena;
  if (cpu.memPattern !== undefined || provider === 'cpu') opts.enableMemPattern = cpu.memPattern ?? false;
  if (provider === 'cpu') opts.extra = { session: { intra_op: { allow_spinning: (cpu.spinning ?? defaultSpinning()) ? '1' : '0' } } };
  if (provider === 'webgpu' && o.deviceOutputs?.length) {
    // Keep the KV cache on the device between steps; only the logits come back to the host.
    // webgpu only: onnxruntime-node 1.30's binding recognises a device output only when its
    // memory is WebGPU's ("WebGPU_Buf" in js/node/src/tensor_helper.cc) and binds every
    // 'gpu-buffer' input as WebGPU memory; a CUDA output would be handed to JS as if it were
    // host memory. So on cuda the outputs come to the host (onnxruntime copies them).
    const loc: Record<string, ort.Tensor.DataLocation> = {};
    for (const n of o.deviceOutputs) loc[n] = 'gpu-buffer';
    for (const n of o.hostOutputs ?? []) loc[n] = 'cpu';
    opts.preferredOutputLocation = loc;
  }
  return opts;
}

async function tryCreate(file: string, provider: Provider, threads: number, o: SessionOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, sessionOptions(provider, threads, o));
}

function invalidModel(file: string, e: unknown): BytefillError {
  const msg = ortMessage(e, 400);
  return new BytefillError('MODEL_INVALID', `Model file invalid: onnxruntime could not load ${file}: ${msg}`);
}

export async function createSession(file: string, o: SessionOptions = {}): Promise<CreatedSession> {
  const log = o.log ?? noLog;
  const threads = o.threads ?? defaultThreads();
  const device = o.device ?? 'auto';
  const gpuPlatform = process.platform === 'linux' || process.platform === 'win32';

  if (device === 'cpu') {
    try {
      return { session: await createCpuPreferring(file, threads, o, log), provider: 'cpu', threads };
    } catch (e) {
      throw invalidModel(file, e);
    }
  }

  if (device === 'cuda' || device === 'webgpu') {
    if (device === 'cuda' && (!gpuPlatform || !backendInstalled('cuda'))) {
      throw new BytefillError('PROVIDER_UNAVAILABLE', `Device 'cuda' unavailable: ${gpuPlatform ? CUDA_MISSING : `no CUDA provider on ${process.platform}`}`);
    }
    try {
      const session = await tryCreate(file, device, threads, o);
      log('info', `model runs on ${device} (asked for explicitly)`);
      return { session, provider: device, threads };
    } catch (e) {
      const msg = ortMessage(e);
      throw new BytefillError('PROVIDER_UNAVAILABLE', `Device '${device}' unavailable: onnxruntime could not create a ${device} session for ${file}: ${msg}`);
    }
  }

  // auto: each skipped or failed provider logs why; the last line says which one runs.
  if (!gpuPlatform) log('info', `cuda skipped: not available on ${process.platform}`);
  else if (!backendInstalled('cuda')) log('info', `cuda skipped: ${CUDA_MISSING}`);
  else {
    try {
      const session = await tryCreate(file, 'cuda', threads, o);
      log('info', 'model runs on cuda (auto: CUDA binaries present and a session was created)');
      return { session, provider: 'cuda', threads };
    } catch (e) {
      log('warn', `cuda skipped: session creation failed (${ortMessage(e, 200)})`);
    }
  }
  const node = process.env.BYTEFILL_WEBGPU === '1' ? gpuDeviceNode() : undefined;
  if (process.env.BYTEFILL_WEBGPU === '1' && node === null) {
    log('info', 'webgpu skipped: no GPU device here (no /dev/dri/renderD*, /dev/nvidia*, /dev/dxg), so its adapter would be a software one, slower than cpu');
  } else if (process.env.BYTEFILL_WEBGPU === '1') {
    try {
      const session = await tryCreate(file, 'webgpu', threads, o);
      log('info', 'model runs on webgpu (auto, BYTEFILL_WEBGPU=1)');
      return { session, provider: 'webgpu', threads };
    } catch (e) {
      log('warn', `webgpu skipped: session creation failed (${ortMessage(e, 200)})`);
    }
  } else {
    log('info', "webgpu skipped: not tried under 'auto' unless BYTEFILL_WEBGPU=1 (pick device 'webgpu' to use it)");
  }
  try {
    const session = await createCpuPreferring(file, threads, o, log);
    log('info', `model runs on cpu with ${threads} threads (auto: no GPU provider available)`);
    return { session, provider: 'cpu', threads };
  } catch (e) {
    throw invalidModel(file, e);
  }
}

/** A CPU session of o.cpuFile's graph, or of `file` when there is none or it does not load. */
async function createCpuPreferring(file: string, threads: number, o: SessionOptions, log: Logger): Promise<ort.InferenceSession> {
  let derived = file;
  try {
    derived = o.cpuFile?.(file) ?? file;
  } catch (e) {
    log('warn', `could not derive a CPU graph from ${file} (${ortMessage(e, 200)}); loading it as it is`);
  }
  if (derived === file) return createCpu(file, threads, o, log);
  try {
    return await createCpu(derived, threads, o, log);
  } catch (e) {
    log('warn', `the derived graph ${derived} did not load (${ortMessage(e, 200)}); removed it, loading ${file}`);
    fs.rmSync(derived, { force: true });
    return createCpu(file, threads, o, log);
  }
}

/**
 * A CPU session through the optimised-graph cache (optimized-cache.ts): load the saved graph with
 * optimisation off, or optimise and save it. Any cache failure falls back to a plain load.
 */
async function createCpu(file: string, threads: number, o: SessionOptions, log: Logger): Promise<ort.InferenceSession> {
  const g = o.cacheOptimized === false || (o.optimizationLevel ?? 'all') === 'disabled' ? null : optimizedGraph(file, 'cpu');
  if (!g) return tryCreate(file, 'cpu', threads, o);
  if (g.exists) {
    try {
      const t0 = performance.now();
      const s = await ort.InferenceSession.create(g.file, { ...sessionOptions('cpu', threads, o), graphOptimizationLevel: 'disabled' });
      log('info', `loaded the optimised graph saved earlier (${(performance.now() - t0).toFixed(0)} ms): ${g.file}`);
      return s;
    } catch (e) {
      log('warn', `the saved optimised graph ${g.file} did not load (${ortMessage(e, 200)}); optimising again`);
      dropCached(g);
    }
  }
  const release = claimWrite(g);
  if (!release) return tryCreate(file, 'cpu', threads, o); // another process is writing it
  try {
    const t0 = performance.now();
    dropCached(g);
    const base = sessionOptions('cpu', threads, o);
    const save = saveOptions(g);
    // Both carry session config entries under `extra.session`: keep both.
    const extra = { session: { ...(base.extra as { session?: object } | undefined)?.session, ...(save.extra as { session?: object }).session } };
    const s = await ort.InferenceSession.create(file, { ...base, ...save, extra });
    markSaved(g);
    log('info', `optimised the graph and saved it for the next load (${(performance.now() - t0).toFixed(0)} ms): ${g.file}`);
    return s;
  } catch (e) {
    dropCached(g);
    log('warn', `could not save the optimised graph (${ortMessage(e, 200)}); loading without the cache`);
    return tryCreate(file, 'cpu', threads, o);
  } finally {
    release();
  }
}
