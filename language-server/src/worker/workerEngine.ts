// The server's side of the engine worker: starts the worker (a thread, or a child process),
// turns calls into messages and back into promises, forwards cancellation, and notices when the
// worker dies.
//
// A cancelled call settles at once (the worker drops its work at the next forward boundary), so
// the server can answer the editor's $/cancelRequest without waiting for the model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { BytefillError } from '../../../engine/src/index';
import type { BytefillErrorCode, CompletionRequest, DownloadProgress, CompletionResult, EngineInfo, EngineOptions, LogLevel, WarmRequest, WarmResult } from '../../../engine/src/index';
import { ENGINE_ERROR_CODES } from '../protocol';
import type { CallName, FaultKind, HostMessage, WorkerCalls, WorkerMessage, WorkerStats } from './messages';

/** The compiled worker entry sits beside this module (tsc output) or beside dist/server.js (bundle). */
export const WORKER_ENTRY = path.join(__dirname, 'engineWorker.js');

/** A worker thread (default), or a child process, which also survives native crashes. */
export type Isolation = 'worker' | 'process';

export interface WorkerEngineOptions {
  log: (level: LogLevel, message: string) => void;
  /** Called once when the worker dies without dispose() (uncaught exception, heap limit, exit, signal). */
  onCrash: (reason: string) => void;
  isolation?: Isolation;
  /** V8 heap cap of the worker in MiB (model weights and the KV cache live outside it). */
  maxOldGenerationSizeMb?: number;
  /**
   * Watchdog grace in ms (0 or absent = off): a complete/score call not answered within its
   * maxTimeMs plus max(grace, maxTimeMs) stops the worker.
   */
  watchdogGraceMs?: number;
  /** Longest a load may run without an answer or a download progress report, in ms (0 or absent = off). */
  loadTimeoutMs?: number;
  /** Memory cap in bytes (0 or absent = off), sampled every MEMORY_SAMPLE_MS; see memoryInUse. */
  memoryCapBytes?: number;
  entry?: string;
}

/** How often the memory cap is checked. */
export const MEMORY_SAMPLE_MS = 500;

/** Resident memory of a process from /proc (Linux), in bytes; null where it cannot be read. */
export function processRss(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GB` : `${Math.round(n / 2 ** 20)} MB`;
}

interface Pending {
  name: CallName;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Engine errors become BytefillErrors again (their code decides the LSP error); others keep a `code`. */
function codedError(code: string | undefined, message: string): Error {
  if (code && code !== 'INTERNAL' && code in ENGINE_ERROR_CODES) return new BytefillError(code as BytefillErrorCode, message);
  return Object.assign(new Error(message), code ? { code } : {});
}

function isAborted(m: WorkerMessage): boolean {
  if (m.kind === 'error') return m.error.code === 'ABORTED';
  if (m.kind !== 'result') return false;
  const v = m.value as { stopReason?: unknown } | null;
  return typeof v === 'object' && v !== null && v.stopReason === 'aborted';
}

/** The transport to one worker, thread or process. */
interface Channel {
  /** Thread id or process id. */
  readonly id: number;
  post(m: HostMessage): void;
  terminate(): Promise<void>;
  /** Stops the worker now, whatever it is doing (SIGKILL; a thread: at its next JavaScript point). */
  kill(): void;
}

interface ChannelEvents {
  message: (m: WorkerMessage) => void;
  /** Output lines of the worker (its console), and fatal error text. */
  output: (level: LogLevel, line: string) => void;
  error: (text: string) => void;
  exit: (description: string) => void;
}

function lines(d: Buffer, fn: (line: string) => void): void {
  for (const line of d.toString('utf8').split('\n')) if (line.trim()) fn(line);
}

function startThread(entry: string, heapMb: number | undefined, on: ChannelEvents): Channel {
  // stdout/stderr: true keeps the worker's console output off the server's stdout (the LSP
  // channel when started with --stdio); it is read here and logged.
  const w = new Worker(entry, { stdout: true, stderr: true, resourceLimits: heapMb ? { maxOldGenerationSizeMb: heapMb } : undefined });
  w.stdout.on('data', (d: Buffer) => lines(d, (l) => on.output('info', l)));
  w.stderr.on('data', (d: Buffer) => lines(d, (l) => on.output('warn', l)));
  w.on('message', on.message);
  w.on('error', (e: Error) => {
    const code = (e as { code?: string }).code;
    on.error(`${e.message}${code ? ` [${code}]` : ''}`);
  });
  w.on('exit', (code) => on.exit(`exited with code ${code}`));
  return {
    id: w.threadId,
    post: (m) => w.postMessage(m),
    terminate: async () => {
      await w.terminate();
    },
    // Worker.terminate() stops JavaScript (a busy loop included) but cannot interrupt a native
    // call (an onnxruntime forward): the thread ends when that call returns.
    kill: () => void w.terminate(),
  };
}

function startProcess(entry: string, heapMb: number | undefined, on: ChannelEvents): Channel {
  // Own execArgv (not the server's: an --inspect port would clash); stdout piped, never inherited
  // (with --stdio the server's stdout is the LSP channel).
  const child = fork(entry, [], {
    execArgv: heapMb ? [`--max-old-space-size=${heapMb}`] : [],
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let lastErr = '';
  child.stdout!.on('data', (d: Buffer) => lines(d, (l) => on.output('info', l)));
  child.stderr!.on('data', (d: Buffer) =>
    lines(d, (l) => {
      if (/FATAL ERROR|out of memory|Error/.test(l)) lastErr = l.trim();
      on.output('warn', l);
    }),
  );
  child.on('message', (m) => on.message(m as WorkerMessage));
  child.on('error', (e) => on.error(e.message));
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      if (lastErr) on.error(lastErr);
      on.exit(signal ? `was killed by ${signal}` : `exited with code ${code}`);
      resolve();
    }),
  );
  return {
    id: child.pid ?? -1,
    post: (m) => {
      if (child.connected) child.send(m, (err) => err && on.error(`send failed: ${err.message}`));
    },
    terminate: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    // SIGKILL ends the process even inside a native forward.
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export class WorkerEngine {
  private readonly channel: Channel;
  private readonly pending = new Map<number, Pending>();
  /** Calls the worker has not answered yet, cancelled ones included (it is busy until they end). */
  private readonly inWorker = new Set<number>();
  /** Watchdog timers of calls in the worker. */
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** Calls the worker ended as cancelled (the cancel reached it). */
  cancelledInWorker = 0;
  readonly isolation: Isolation;
  private nextId = 1;
  private engineInfo: EngineInfo | null = null;
  private lastStats: WorkerStats | null = null;
  private lastError: string | null = null;
  private exited = false;
  private disposing = false;
  private loaded = false;
  /** Why the watchdog or the memory cap stopped the worker (the crash reason then). */
  private stopReason: string | null = null;
  private memoryTimer: NodeJS.Timeout | undefined;
  /** Server RSS before a worker thread started (the thread's memory is measured above it). */
  private rssBefore = 0;
  /** The load call's id, so that download progress can restart its watchdog. */
  private loadId = -1;

  private constructor(
    private readonly o: WorkerEngineOptions,
    private readonly onDownload?: (p: DownloadProgress) => void,
  ) {
    this.isolation = o.isolation ?? 'worker';
    const events: ChannelEvents = {
      message: (m) => this.onMessage(m),
      output: (level, line) => o.log(level, `[worker] ${line}`),
      error: (text) => (this.lastError = text),
      exit: (description) => this.onExit(description),
    };
    const start = this.isolation === 'process' ? startProcess : startThread;
    this.rssBefore = process.memoryUsage.rss();
    this.channel = start(o.entry ?? WORKER_ENTRY, o.maxOldGenerationSizeMb, events);
    this.startMemoryCap();
  }

  /**
   * The memory in use by the worker: a child process's own RSS; for a thread, the server
   * process's RSS minus what it was before the thread started (an approximation: threads share
   * one process, so the server's own growth counts too).
   */
  private memoryInUse(): number | null {
    if (this.isolation === 'process') return processRss(this.channel.id);
    return process.memoryUsage.rss() - this.rssBefore;
  }

  private startMemoryCap(): void {
    const cap = this.o.memoryCapBytes ?? 0;
    if (cap <= 0) return;
    if (this.isolation === 'process' && processRss(this.channel.id) === null) {
      this.o.log('warn', `engine memory cap not applied: the resident memory of process ${this.channel.id} cannot be read here (/proc)`);
      return;
    }
    this.memoryTimer = setInterval(() => {
      const used = this.memoryInUse();
      if (used !== null && used > cap) this.stop(`stopped: engine memory ${formatBytes(used)} over the ${formatBytes(cap)} cap`);
    }, MEMORY_SAMPLE_MS);
    this.memoryTimer.unref();
  }

  /** Watchdog and memory cap: stops the worker; its exit goes down the crash path with this reason. */
  private stop(reason: string): void {
    if (this.exited || this.disposing || this.stopReason) return;
    this.stopReason = reason;
    clearInterval(this.memoryTimer);
    this.o.log('error', `engine ${this.isolation} ${reason}`);
    this.channel.kill();
  }

  /** Deadline of a call in ms, or 0 for none (see WorkerEngineOptions.watchdogGraceMs). */
  private deadline(name: CallName, params: unknown): number {
    if (name === 'load') return this.o.loadTimeoutMs ?? 0;
    if (name !== 'complete' && name !== 'score') return 0;
    const grace = this.o.watchdogGraceMs ?? 0;
    if (grace <= 0) return 0;
    const maxTime = name === 'complete' ? Number((params as { maxTimeMs?: number }).maxTimeMs ?? 0) : 0;
    return maxTime + Math.max(grace, maxTime);
  }

  private arm(id: number, name: CallName, ms: number): void {
    clearTimeout(this.timers.get(id));
    if (ms <= 0) return;
    const what = name === 'load' ? 'model load' : name;
    const t = setTimeout(() => {
      if (this.inWorker.has(id)) this.stop(`stopped by the watchdog: no answer to ${what} within ${Math.round(ms / 100) / 10} s`);
    }, ms);
    t.unref();
    this.timers.set(id, t);
  }

  private disarm(id: number): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  /** Starts a worker and loads the models in it. */
  static async create(opts: EngineOptions, w: WorkerEngineOptions): Promise<WorkerEngine> {
    const e = new WorkerEngine(w, opts.onDownload);
    const { log: _log, onDownload: _onDownload, signal, ...wire } = opts;
    try {
      e.engineInfo = await e.call('load', wire, signal);
    } catch (err) {
      // A cancelled load (a Hub download) settles at once; let the worker unwind it (release
      // the download's lock and partial file) before the thread ends.
      await e.idle(10_000);
      await e.dispose();
      throw err;
    }
    e.loaded = true;
    return e;
  }

  /** Thread id (worker) or process id (process). */
  get workerId(): number {
    return this.channel.id;
  }

  /** Calls the worker is running or has queued, cancelled ones until it drops them. */
  get running(): number {
    return this.inWorker.size;
  }

  /** The latest snapshot the worker pushed (never waits for a busy worker). */
  get stats(): WorkerStats | null {
    return this.lastStats;
  }

  info(): EngineInfo {
    if (!this.engineInfo) throw new Error('engine worker has no model loaded');
    return this.engineInfo;
  }

  complete(req: CompletionRequest): Promise<CompletionResult> {
    const { signal, ...wire } = req;
    return this.call('complete', wire, signal);
  }

  warm(req: WarmRequest): Promise<WarmResult> {
    const { signal, ...wire } = req;
    return this.call('warm', wire, signal);
  }

  middleBitsPerByte(prefix: string, suffix: string, middle: string, mode: 'token' | 'heal' | 'byte', signal?: AbortSignal): Promise<number> {
    return this.call('score', { prefix, suffix, middle, mode }, signal);
  }

  /** Resolves when the worker has answered every call sent to it (or it exited, or after `ms`). */
  async idle(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.inWorker.size > 0 && !this.exited && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  /** Asks the worker itself (waits for it between forwards; `stats` does not). */
  status(): Promise<WorkerStats> {
    return this.call('status', {});
  }

  /** Test hook: makes the worker fail (honoured only when it runs with BYTEFILL_TEST_HOOKS=1). */
  injectFault(fault: FaultKind): void {
    this.post({ kind: 'fault', fault });
  }

  call<K extends CallName>(name: K, params: WorkerCalls[K]['params'], signal?: AbortSignal): Promise<WorkerCalls[K]['result']> {
    if (this.exited) return Promise.reject(codedError('ENGINE_CRASHED', `the engine worker is not running (${this.lastError ?? 'exited'})`));
    if (signal?.aborted) return Promise.reject(codedError('ABORTED', 'request cancelled before it started'));
    const id = this.nextId++;
    if (name === 'load') this.loadId = id;
    return new Promise<WorkerCalls[K]['result']>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        this.post({ kind: 'cancel', id });
        reject(codedError('ABORTED', `${name} cancelled`));
      };
      // The watchdog keeps running for a cancelled call: the worker is busy until it answers.
      this.arm(id, name, this.deadline(name, params));
      this.pending.set(id, {
        name,
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as WorkerCalls[K]['result']);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.inWorker.add(id);
      this.post({ kind: 'call', id, name, params } as HostMessage);
    });
  }

  private post(m: HostMessage): void {
    if (this.exited) return;
    try {
      this.channel.post(m);
    } catch (e) {
      this.o.log('error', `could not send ${m.kind} to the engine worker: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private onMessage(m: WorkerMessage): void {
    if (m.kind === 'log') return this.o.log(m.level, m.message);
    if (m.kind === 'download') {
      // A download that moves is not a hung load: restart the load's clock.
      if (this.inWorker.has(this.loadId)) this.arm(this.loadId, 'load', this.deadline('load', null));
      return this.onDownload?.(m.progress);
    }
    if (m.kind === 'stats') {
      this.lastStats = m.stats;
      return;
    }
    this.inWorker.delete(m.id);
    this.disarm(m.id);
    if (isAborted(m)) this.cancelledInWorker++;
    // Replies to cancelled calls find no entry: they were answered already.
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.kind === 'result') p.resolve(m.value);
    else p.reject(codedError(m.error.code, m.error.message));
  }

  private onExit(description: string): void {
    this.exited = true;
    clearInterval(this.memoryTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    const reason = this.stopReason
      ? `engine ${this.isolation} ${this.stopReason}`
      : `engine ${this.isolation} ${description}${this.lastError ? `: ${this.lastError}` : ''}`;
    const err = codedError('ENGINE_CRASHED', this.disposing ? 'the engine was disposed' : reason);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.inWorker.clear();
    if (!this.disposing && this.loaded) this.o.onCrash(reason);
  }

  /** Frees the models, then ends the thread (terminated if it does not answer within 5 s). */
  async dispose(): Promise<void> {
    if (this.disposing) return;
    this.disposing = true;
    clearInterval(this.memoryTimer);
    if (this.exited) return;
    const done = this.call('dispose', {}).catch(() => null);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    await this.channel.terminate();
  }
}
