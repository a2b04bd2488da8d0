// Ensembles across vocabularies: byte-level decoding and scoring with several models. The Engine
// facade (api/engine.ts) calls completeEnsemble when two or more models are loaded.
import { BytefillError, CompletionRequest, CompletionResult, EngineOptions } from '../core/types';
import { ModelBundle } from '../bundle/model-bundle';
import { PromptBudget } from '../complete/prompt';
import { normalizeWeights } from './combine';
import { completeEnsembleWith, EnsembleRequest } from './decode';

export { combine, combineMixture, combineProduct, normalizeWeights, DIST_SIZE } from './combine';
export { ByteStream, ByteStreamOptions } from '../byte/byte-stream';
export { stableCommitPoint } from '../byte/lookahead';
export { BranchLM, LMContext, ScoredBranch } from '../byte/lm';
export { OnnxBranchLM } from '../byte/onnx-lm';
export { TeacherForcedLM } from './teacher-lm';
export { completeEnsembleWith, EnsembleMember, EnsembleRequest, EnsembleDecodeOptions, EnsembleCompletionResult, pickByte, utf8Allowed } from './decode';
export { scoreBytes, scoreFiles, documentStartId, LoadedModels, ScoreOptions, ScoreResult, ScoreFilesOptions, ScoreFilesResult, FileScore, ScoreMember } from './score';

/** The engine's ensemble completion: every loaded model, the engine's weights and combination. */
export function completeEnsemble(
  bundles: ModelBundle[],
  opts: Pick<EngineOptions, 'weights' | 'ensemble'>,
  budget: PromptBudget,
  req: CompletionRequest,
): Promise<CompletionResult> {
  const mode = req.mode ?? 'byte';
  if (mode === 'token' || mode === 'heal') {
    return Promise.reject(
      new BytefillError('UNSUPPORTED', `mode '${mode}' is not available with an ensemble: ensembles decode byte by byte, so only mode 'byte' is supported`),
    );
  }
  const weights = normalizeWeights(opts.weights, bundles.length);
  const members = bundles.map((bundle, k) => ({ bundle, weight: weights[k] }));
  return completeEnsembleWith(members, req as EnsembleRequest, { mode: opts.ensemble ?? 'mixture', budget });
}
