// Ensembles across vocabularies: byte-level decoding and scoring with several models. The Engine
// facade (api/engine.ts) calls completeEnsemble when two or more models are loaded.
import { BytefillError, CompletionRequest, CompletionResult, EngineOptions, WarmModelResult, WarmRequest } from '../core/types';
import { warmPromptIds } from '../complete/warm';
import { ModelBundle } from '../bundle/model-bundle';
import { PromptBudget } from '../complete/prompt';
import { normalizeWeights } from './combine';
import { completeEnsembleWith, EnsembleRequest } from './decode';
import { MemberWorker } from './worker-lm';

export { combine, combineMixture, combineProduct, normalizeWeights, DIST_SIZE } from './combine';
export { ByteStream, ByteStreamOptions } from '../byte/byte-stream';
export { stableCommitPoint } from '../byte/lookahead';
export { BranchLM, LMContext, ScoredBranch } from '../byte/lm';
export { OnnxBranchLM } from '../byte/onnx-lm';
export { TeacherForcedLM } from './teacher-lm';
export { MemberWorker, WorkerBranchLM, MEMBER_WORKER_ENTRY } from './worker-lm';

/** One worker thread per member (EngineOptions.ensembleWorkers), loading the bundle's own graph. */
export async function startMemberWorkers(bundles: readonly ModelBundle[], opts: Pick<EngineOptions, 'threads' | 'int8Activations' | 'kvCacheMB' | 'prefillChunkTokens'>): Promise<MemberWorker[]> {
  const started = await Promise.allSettled(
    bundles.map((b) => MemberWorker.start(b.name, { dir: b.model.dir, variant: b.model.file, threads: opts.threads, int8Activations: opts.int8Activations, kvCacheMB: opts.kvCacheMB, prefillChunkTokens: opts.prefillChunkTokens })),
  );
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const r of started) if (r.status === 'fulfilled') await r.value.dispose();
    throw failed.reason;
  }
  return started.map((r) => (r as PromiseFulfilledResult<MemberWorker>).value);
}
export { completeEnsembleWith, EnsembleMember, EnsembleRequest, EnsembleDecodeOptions, EnsembleCompletionResult, pickByte, utf8Allowed } from './decode';
export { scoreBytes, scoreFiles, documentStartId, LoadedModels, ScoreOptions, ScoreResult, ScoreFilesOptions, ScoreFilesResult, FileScore, ScoreMember } from './score';

/** Engine.warm for a member that decodes in its worker: the worker's prefix cache is the one used. */
export async function warmMemberWorker(w: MemberWorker, b: ModelBundle, req: WarmRequest, budget: PromptBudget): Promise<WarmModelResult> {
  const ids = warmPromptIds(b, req, budget);
  const r = await w.warm(ids, req.signal);
  return { model: b.name, promptTokens: ids.length, cachedTokens: r.reused, computedTokens: r.computed };
}

/** The engine's ensemble completion: every loaded model, the engine's weights and combination. */
export function completeEnsemble(
  bundles: ModelBundle[],
  opts: Pick<EngineOptions, 'weights' | 'ensemble'>,
  budget: PromptBudget,
  req: CompletionRequest,
  workers?: readonly MemberWorker[],
): Promise<CompletionResult> {
  const mode = req.mode ?? 'byte';
  if (mode === 'token' || mode === 'heal') {
    return Promise.reject(
      new BytefillError('UNSUPPORTED', `mode '${mode}' is not available with an ensemble: ensembles decode byte by byte, so only mode 'byte' is supported`),
    );
  }
  const weights = normalizeWeights(opts.weights, bundles.length);
  const members = bundles.map((bundle, k) => ({ bundle, weight: weights[k] }));
  return completeEnsembleWith(members, req as EnsembleRequest, { mode: opts.ensemble ?? 'mixture', budget, workers });
}
