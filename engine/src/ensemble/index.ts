// Ensembles across vocabularies: byte-level decoding and scoring with several models. Importing
// this module registers the engine hook (engineExtensions.completeEnsemble), so an Engine with two
// or more models completes through decodeEnsemble.
import { BytefillError, CompletionRequest, CompletionResult } from '../api/types';
import { Engine, engineExtensions } from '../api/engine';
import { normalizeWeights } from './combine';
import { completeEnsembleWith, EnsembleRequest } from './decode';

export { combine, combineMixture, combineProduct, normalizeWeights, DIST_SIZE } from './combine';
export { ByteStream, ByteStreamOptions, stableCommitPoint } from './byte-stream';
export { OnnxStreamLM, StreamLM, LMContext, BranchOut } from './stream-lm';
export { TeacherForcedLM } from './teacher-lm';
export { completeEnsembleWith, EnsembleMember, EnsembleRequest, EnsembleDecodeOptions, EnsembleCompletionResult, pickByte, utf8Allowed } from './decode';
export { scoreBytes, scoreFiles, documentStartId, ScoreOptions, ScoreResult, ScoreFilesOptions, ScoreFilesResult, FileScore, ScoreMember } from './score';

/** The engine's ensemble completion: every loaded model, the engine's weights and combination. */
export function completeEnsemble(engine: Engine, req: CompletionRequest): Promise<CompletionResult> {
  const mode = req.mode ?? 'byte';
  if (mode === 'token' || mode === 'heal') {
    return Promise.reject(
      new BytefillError('UNSUPPORTED', `mode '${mode}' is not available with an ensemble: ensembles decode byte by byte, so only mode 'byte' is supported`),
    );
  }
  const weights = normalizeWeights(engine.opts.weights, engine.bundles.length);
  const members = engine.bundles.map((bundle, k) => ({ bundle, weight: weights[k] }));
  return completeEnsembleWith(members, req as EnsembleRequest, { mode: engine.opts.ensemble ?? 'mixture', budget: engine.budget });
}

engineExtensions.completeEnsemble = completeEnsemble;
