// The worker thread of one ensemble member: owns the member's onnxruntime session, its prefix cache
// and the KV states of the decoding thread's contexts (worker-lm.ts). onnxruntime-node runs a
// forward synchronously on the calling thread, so one member per thread lets the members' forwards
// for a byte run at the same time (docs/DESIGN.md, "Ensembles across vocabularies").
import { parentPort, workerData } from 'node:worker_threads';
import { ModelBundle } from '../bundle/model-bundle';
import { OnnxBranchLM } from '../byte/onnx-lm';
import { LMContext, LMStats, ScoredBranch } from '../byte/lm';
import { LogDist } from '../byte/log-dist';
import { BytefillError } from '../core/types';
import { MemberLoad, MemberReply, MemberRequest, packDists, packedBuffers, ScoredSet } from './member-messages';

interface Session {
  contexts: Map<number, LMContext>;
  sets: Map<number, ScoredBranch[]>;
}

function pack(scored: ScoredBranch[], vocab: number): ScoredSet {
  const index = new Map<LogDist, number>();
  for (const b of scored) for (const a of b.nexts) if (!index.has(a)) index.set(a, index.size);
  return { dists: packDists([...index.keys()], vocab), nexts: scored.map((b) => b.nexts.map((a) => index.get(a)!)) };
}

async function main(load: MemberLoad): Promise<void> {
  const port = parentPort!;
  const bundle = await ModelBundle.load(load.dir, { device: 'cpu', variant: load.variant, threads: load.threads, int8Activations: load.int8Activations, kvCacheMB: load.kvCacheMB, prefillChunkTokens: load.prefillChunkTokens });
  const lm = new OnnxBranchLM(bundle.model);
  const vocab = lm.vocabSize;
  const sessions = new Map<number, Session>();
  const sessionOf = (n: number): Session => {
    let s = sessions.get(n);
    if (!s) sessions.set(n, (s = { contexts: new Map(), sets: new Map() }));
    return s;
  };
  const context = (s: Session, h: number): LMContext => {
    const c = s.contexts.get(h);
    if (!c) throw new Error(`member worker: no context ${h}`);
    return c;
  };
  const reply = (r: MemberReply, transfer: ArrayBuffer[] = []) => port.postMessage(r.ok ? { ...r, cache: bundle.cache.stats() } : r, transfer);
  // One request at a time, in arrival order: a later request may name a context an earlier one made.
  let queue = Promise.resolve();
  // The forwards a request ran (the decoding thread counts them per completion).
  const since = (f0: LMStats): LMStats => ({ forwards: lm.stats.forwards - f0.forwards, forwardTokens: lm.stats.forwardTokens - f0.forwardTokens, forwardMs: lm.stats.forwardMs - f0.forwardMs });
  // Prefills running or queued, by request id: a cancel lands between prefill chunks, not in the queue.
  const prefills = new Map<number, AbortController>();
  const prefill = (id: number, ids: number[]) => bundle.cache.prefill(ids, prefills.get(id)!.signal).finally(() => prefills.delete(id));
  port.on('message', (m: MemberRequest) => {
    if (m.op === 'cancel') return prefills.get(m.id)?.abort();
    if (m.op === 'warm' || m.op === 'prefill') prefills.set(m.id, new AbortController());
    queue = queue.then(async () => {
      const f0 = { ...lm.stats };
      try {
        switch (m.op) {
          case 'prefill': {
            const pre = await prefill(m.id, m.ids);
            const c = lm.context(pre.state, pre.lastLogits);
            sessionOf(m.session).contexts.set(m.h, c);
            const next = packDists([c.next], vocab);
            return reply({ id: m.id, ok: true, stats: since(f0), next, length: c.length, reused: pre.reused }, packedBuffers(next));
          }
          case 'start': {
            const c = await lm.start(m.ids);
            sessionOf(m.session).contexts.set(m.h, c);
            const next = packDists([c.next], vocab);
            return reply({ id: m.id, ok: true, stats: since(f0), next, length: c.length }, packedBuffers(next));
          }
          case 'score': {
            const s = sessionOf(m.session);
            const scored = await lm.score(context(s, m.h), m.branches);
            s.sets.set(m.set, scored);
            const set = pack(scored, vocab);
            return reply({ id: m.id, ok: true, stats: since(f0), scored: set }, packedBuffers(set.dists));
          }
          case 'warm': {
            const pre = await prefill(m.id, m.ids);
            return reply({ id: m.id, ok: true, stats: since(f0), reused: pre.reused, computed: pre.computed });
          }
          case 'count': {
            let held = 0;
            for (const s of sessions.values()) held += s.contexts.size + s.sets.size;
            return reply({ id: m.id, ok: true, stats: since(f0), held });
          }
          case 'extend': {
            const s = sessionOf(m.session);
            const set = s.sets.get(m.set);
            if (set) s.contexts.set(m.h, set[m.i].extend(m.m));
            return;
          }
          case 'release': {
            const s = sessions.get(m.session);
            for (const h of m.handles) s?.contexts.delete(h) || s?.sets.delete(h);
            return;
          }
          case 'close':
            sessions.delete(m.session);
            return;
          case 'plan':
            // The log-softmax of later forwards also sums these blocks (LogDist.fromLogits).
            lm.plan.blockOf = m.blockOf;
            lm.plan.count = m.count;
            return;
        }
      } catch (e) {
        if ('id' in m) {
          reply({ id: m.id, ok: false, code: e instanceof BytefillError ? e.code : '', message: e instanceof Error ? e.message : String(e) });
        }
      }
    });
  });
  port.postMessage({ ready: true, vocabSize: vocab, maxPositions: lm.maxPositions, cache: bundle.cache.stats() });
}

if (parentPort) {
  main(workerData as MemberLoad).catch((e) => {
    // A load failure ends the thread with the reason (worker-lm.ts reports it).
    throw e;
  });
}
