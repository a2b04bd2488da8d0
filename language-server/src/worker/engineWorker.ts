// Entry point of the engine worker: owns one Engine and serves the calls of messages.ts. Runs as
// a worker thread (new Worker) or as a child process (fork, with an IPC channel). A forward
// blocks this thread (not the language server's); cancel messages are picked up between
// forwards, where the engine yields to the event loop.
import { parentPort, resourceLimits } from 'node:worker_threads';
import { BytefillError, Engine } from '../../../engine/src/index';
import type { CallName, FaultKind, HostMessage, WorkerCalls, WorkerMessage, WorkerStats } from './messages';

interface Port {
  post(m: WorkerMessage): void;
  onMessage(fn: (m: HostMessage) => void): void;
}

function connect(): Port {
  const thread = parentPort;
  if (thread) return { post: (m) => thread.postMessage(m), onMessage: (fn) => thread.on('message', fn) };
  const send = process.send?.bind(process);
  if (send) {
    // The server is gone (channel closed): nothing left to serve.
    process.on('disconnect', () => process.exit(0));
    return { post: (m) => void send(m), onMessage: (fn) => process.on('message', fn as (m: unknown) => void) };
  }
  throw new Error('engineWorker runs as a worker thread or a forked child process, not as a script');
}
const port = connect();
const inProcess = !parentPort;

let engine: Engine | null = null;
const running = new Map<number, AbortController>();

function post(m: WorkerMessage): void {
  port.post(m);
}

function stats(): WorkerStats {
  const mem = process.memoryUsage();
  return {
    running: running.size,
    kvCache: engine?.cacheInfo() ?? [],
    memory: { rss: mem.rss, heapUsed: mem.heapUsed, arrayBuffers: mem.arrayBuffers },
  };
}

function needEngine(): Engine {
  if (!engine) throw new BytefillError('BAD_ARGUMENT', 'no model loaded in the engine worker');
  return engine;
}

type Handler<K extends CallName> = (params: WorkerCalls[K]['params'], signal: AbortSignal) => Promise<WorkerCalls[K]['result']>;

const handlers: { [K in CallName]: Handler<K> } = {
  async load(opts, signal) {
    if (engine) throw new BytefillError('BAD_ARGUMENT', 'the engine worker already holds a model: start a new worker');
    engine = await Engine.create({
      ...opts,
      signal,
      log: (level, message) => post({ kind: 'log', level, message }),
      onDownload: (progress) => post({ kind: 'download', progress }),
    });
    return engine.info();
  },
  complete: (req, signal) => needEngine().complete({ ...req, signal }),
  warm: (req, signal) => needEngine().warm({ ...req, signal }),
  score: (p, signal) => needEngine().middleBitsPerByte(p.prefix, p.suffix, p.middle, p.mode, signal),
  status: async () => stats(),
  async dispose() {
    for (const ac of running.values()) ac.abort();
    const e = engine;
    engine = null;
    if (e) await e.dispose();
    return null;
  },
};

async function call(m: Extract<HostMessage, { kind: 'call' }>): Promise<void> {
  const ac = new AbortController();
  running.set(m.id, ac);
  try {
    const fn = handlers[m.name] as Handler<CallName>;
    const value = await fn(m.params as never, ac.signal);
    post({ kind: 'result', id: m.id, value });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    post({
      kind: 'error',
      id: m.id,
      error: { code: typeof code === 'string' ? code : undefined, message: e instanceof Error ? e.message : String(e) },
    });
  } finally {
    running.delete(m.id);
    post({ kind: 'stats', stats: stats() });
  }
}

/** Kept alive by the `alloc` fault; counted by the `hang` fault (so the loop is not optimised away). */
const held: Buffer[] = [];
let busy = 0;

function fault(kind: FaultKind): void {
  if (process.env.BYTEFILL_TEST_HOOKS !== '1') {
    post({ kind: 'log', level: 'warn', message: `fault injection '${kind}' ignored (BYTEFILL_TEST_HOOKS is not 1)` });
    return;
  }
  if (kind === 'exit') process.exit(70);
  // A native crash (SIGABRT): only survivable when the engine runs in its own process.
  if (kind === 'abort') {
    if (!inProcess) post({ kind: 'log', level: 'warn', message: "fault injection 'abort' ignored: it would end the server's process too" });
    else process.abort();
    return;
  }
  if (kind === 'hang') {
    // Never returns: only the server's watchdog ends this worker.
    setImmediate(() => {
      for (;;) busy++;
    });
    return;
  }
  if (kind === 'alloc') {
    // Native memory (Buffer storage is outside the V8 heap), written so that it is resident.
    for (let i = 0; i < 768 / 64; i++) held.push(Buffer.alloc(64 << 20, 1));
    post({ kind: 'log', level: 'warn', message: `fault injection 'alloc': holding ${held.length * 64} MiB` });
    return;
  }
  if (kind === 'throw') {
    setImmediate(() => {
      throw new Error('fault injected by a test: uncaught exception in the engine worker');
    });
    return;
  }
  // 'oom': only against a heap limit, so the worker dies at the limit and not the machine.
  if (!heapLimited()) {
    post({ kind: 'log', level: 'warn', message: "fault injection 'oom' ignored: the worker has no heap limit" });
    return;
  }
  const hold: number[][] = [];
  for (;;) hold.push(new Array<number>(1 << 16).fill(hold.length + 0.5));
}

/** Whether a heap limit was set for this worker (resourceLimits, or --max-old-space-size for a process). */
function heapLimited(): boolean {
  if (!inProcess) return (resourceLimits.maxOldGenerationSizeMb ?? 0) > 0;
  return process.execArgv.some((a) => a.startsWith('--max-old-space-size'));
}

port.onMessage((m: HostMessage) => {
  if (m.kind === 'call') void call(m);
  else if (m.kind === 'cancel') running.get(m.id)?.abort();
  else if (m.kind === 'fault') fault(m.fault);
});
