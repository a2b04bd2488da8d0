// An ensemble member whose model runs in its own worker thread (member-worker.ts), and the BranchLM
// that decoding uses for it. A context here is a handle to a KV state held by the worker; a scored
// branch's distributions come back in one transferred buffer. Handles go back to the worker when
// the decoding thread drops them (FinalizationRegistry, sent with the next call) and all at once
// when the completion ends (close), so a completion leaves no KV state behind, cancelled or not.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BranchLM, LMContext, LMStats, newStats, ScoredBranch, scoredBranch } from '../byte/lm';
import { LogDist, MassPlan } from '../byte/log-dist';
import { BytefillError, BytefillErrorCode } from '../core/types';
import { MemberCall, MemberLoad, MemberNote, MemberReady, MemberReply, unpackDists } from './member-messages';
import type { PrefixCacheStats } from '../model/prefix-cache';

/** The compiled worker entry sits beside this module (tsc output) or beside the bundle's server.js. */
export const MEMBER_WORKER_ENTRY = path.join(__dirname, 'member-worker.js');

type Reply = Extract<MemberReply, { ok: true }>;
type CallBody = MemberCall extends infer C ? (C extends MemberCall ? Omit<C, 'id'> : never) : never;

interface WorkerContext extends LMContext {
  readonly h: number;
}

/** One member's worker thread: loads the model once, serves every completion's WorkerBranchLM. */
export class MemberWorker {
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private nextSession = 1;
  /** Why the worker is gone (set once); every later call fails with it. */
  private failure?: Error;
  private disposed = false;
  vocabSize = 0;
  maxPositions = 0;
  /** The worker's prefix cache as of its last reply (this member's decoding uses that cache). */
  cacheStats?: PrefixCacheStats;
  /**
   * The byte layer's probability blocks for this member's vocabulary (set by it on first use,
   * VocabIndex.cumulativeMass), sent to the worker before the next call once set.
   */
  readonly plan: MassPlan = { blockOf: null, count: 0 };
  private planSent = false;

  private constructor(
    readonly name: string,
    private readonly worker: Worker,
  ) {
    worker.on('message', (m: MemberReply | MemberReady) => {
      if ('ready' in m) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok && m.cache) this.cacheStats = m.cache;
      if (m.ok) p.resolve(m);
      else p.reject(m.code ? new BytefillError(m.code as BytefillErrorCode, m.message) : new Error(m.message));
    });
    worker.on('error', (e) => this.fail(`its worker thread failed: ${e.message}`));
    worker.on('exit', (code) => this.fail(`its worker thread stopped (exit code ${code})`));
  }

  /** Starts the worker and waits until it has loaded the model. */
  static start(name: string, load: MemberLoad, entry = MEMBER_WORKER_ENTRY): Promise<MemberWorker> {
    const worker = new Worker(entry, { workerData: load });
    const w = new MemberWorker(name, worker);
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(w.failure ?? new Error(`ensemble member ${name}: its worker thread stopped while loading (exit code ${code})`));
      const onError = (e: Error) => reject(new Error(`ensemble member ${name}: loading in its worker thread failed: ${e.message}`));
      worker.once('exit', onExit);
      worker.once('error', onError);
      worker.once('message', (m: MemberReady) => {
        worker.off('exit', onExit);
        worker.off('error', onError);
        w.vocabSize = m.vocabSize;
        w.maxPositions = m.maxPositions;
        w.cacheStats = m.cache;
        resolve(w);
      });
    });
  }

  /** A BranchLM for one completion; close() it when the completion ends. */
  open(): WorkerBranchLM {
    return new WorkerBranchLM(this, this.nextSession++);
  }

  call(body: CallBody): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.planSent && this.plan.blockOf) {
      this.planSent = true;
      this.note({ op: 'plan', blockOf: this.plan.blockOf, count: this.plan.count });
    }
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id } as MemberCall);
    });
  }

  /** A prefill call that the signal stops between chunks in the worker (it then fails with ABORTED). */
  async cancellable(body: Extract<CallBody, { op: 'warm' | 'prefill' }>, signal?: AbortSignal): Promise<Reply> {
    const pending = this.call(body);
    const id = this.nextId - 1;
    const cancel = () => this.note({ op: 'cancel', id });
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await pending;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  note(n: MemberNote): void {
    if (!this.failure) this.worker.postMessage(n);
  }

  /** Prefills ids into the worker's prefix cache (Engine.warm; the signal stops it between chunks); no context is kept. */
  async warm(ids: number[], signal?: AbortSignal): Promise<{ reused: number; computed: number }> {
    if (signal?.aborted) throw new BytefillError('ABORTED', 'warm-up cancelled before it started');
    const r = await this.cancellable({ op: 'warm', ids }, signal);
    return { reused: r.reused!, computed: r.computed! };
  }

  /** Contexts and scored sets the worker holds, over all sessions. */
  async held(): Promise<number> {
    return (await this.call({ op: 'count' })).held!;
  }

  /** The worker thread itself (tests stop it to check that a dead member is reported). */
  get thread(): Worker {
    return this.worker;
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new Error(this.disposed ? `ensemble member ${this.name} was disposed` : `ensemble member ${this.name}: ${reason}`);
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.fail('disposed');
    await this.worker.terminate();
  }
}

/** A BranchLM on a member worker, for one completion (its handles form one session there). */
export class WorkerBranchLM implements BranchLM {
  readonly stats: LMStats = newStats();
  private nextHandle = 1;
  private dropped: number[] = [];
  private closed = false;
  private readonly registry = new FinalizationRegistry<number>((h) => this.dropped.push(h));

  constructor(
    readonly member: MemberWorker,
    private readonly session: number,
  ) {}

  get vocabSize(): number {
    return this.member.vocabSize;
  }

  get maxPositions(): number {
    return this.member.maxPositions;
  }

  /** The prompt's context through the worker's prefix cache (as ModelBundle.cache.prefill). */
  async prefill(ids: number[], signal?: AbortSignal): Promise<{ ctx: LMContext; reused: number }> {
    const h = this.handle();
    const r = await this.call({ op: 'prefill', session: this.session, h, ids }, signal);
    return { ctx: this.context(h, unpackDists(r.next!, this.member.plan)[0], r.length!), reused: r.reused! };
  }

  async start(ids: number[], signal?: AbortSignal): Promise<LMContext> {
    const h = this.handle();
    const r = await this.call({ op: 'start', session: this.session, h, ids }, signal);
    return this.context(h, unpackDists(r.next!, this.member.plan)[0], r.length!);
  }

  async score(ctx: LMContext, branches: number[][], signal?: AbortSignal): Promise<ScoredBranch[]> {
    const c = ctx as WorkerContext;
    const set = this.handle();
    const r = await this.call({ op: 'score', session: this.session, h: c.h, set, branches }, signal);
    const { dists: packed, nexts } = r.scored!;
    const dists = unpackDists(packed, this.member.plan);
    // The set stays in the worker while any of its branches (their extend) can be reached.
    const owner = {};
    this.registry.register(owner, set);
    return branches.map((ids, i): ScoredBranch & { owner: object } => {
      const own = nexts[i].map((j) => dists[j]);
      const branch = scoredBranch(ctx, ids, own, (m) => {
        const h = this.handle();
        this.member.note({ op: 'extend', session: this.session, set, i, m, h });
        return this.context(h, own[m - 1], ctx.length + m);
      });
      return { ...branch, owner };
    });
  }

  /** Frees everything this completion holds in the worker. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.member.note({ op: 'close', session: this.session });
  }

  private handle(): number {
    return this.nextHandle++;
  }

  private context(h: number, next: LogDist, length: number): WorkerContext {
    const c: WorkerContext = { h, next, length };
    this.registry.register(c, h);
    return c;
  }

  private async call(body: CallBody, signal?: AbortSignal): Promise<Reply> {
    if (signal?.aborted) throw new BytefillError('ABORTED', 'Aborted');
    if (this.closed) throw new Error(`ensemble member ${this.member.name}: the completion's session is closed`);
    if (this.dropped.length > 0) {
      this.member.note({ op: 'release', session: this.session, handles: this.dropped });
      this.dropped = [];
    }
    const r = body.op === 'prefill' ? await this.member.cancellable(body, signal) : await this.member.call(body);
    this.stats.forwards += r.stats.forwards;
    this.stats.forwardTokens += r.stats.forwardTokens;
    this.stats.forwardMs += r.stats.forwardMs;
    return r;
  }
}
