// Evaluation of what the editor shows: the engine's eval runner with the server's own pipeline
// around each completion (the single/multi-line decision from tree-sitter and the line
// heuristics, the request shape it implies, the post-processing). It lives here, not in the
// engine, because the pipeline is editor logic (languages, syntax trees, grammars) that the
// engine library does not carry; the dependency runs language-server -> engine as everywhere.
//
// Two subjects share one engine call per case: `raw` scores the engine output of the server's
// request before post-processing, `server` the same output after it.
import type { Engine } from '../../engine/src/index';
import type { BoundaryMode, CompletionResult } from '../../engine/src/index';
import type { EvalSubject } from '../../engine/src/index';
import { finishCandidates, requestShape } from './pipeline';
import { decideForText } from './syntax/decide';
import { DocumentTrees } from './syntax/documentTrees';

export interface PipelineOptions {
  mode: BoundaryMode;
  /** The VS Code language id of a case (post-processing and syntax depend on it). */
  languageOf: (prefix: string, suffix: string) => string;
  /** The server's bytefill.maxTokens (multi-line budget; single-line is capped lower). */
  maxTokens: number;
  maxTimeMs?: number;
  /** Called per case with the decision taken (for reporting). */
  onDecision?: (multiline: boolean) => void;
}

interface Shared {
  raw: CompletionResult;
  shown: string;
}

/** The server's multi-line decision at the end of `prefix` in prefix + suffix. */
export function decideLikeServer(trees: DocumentTrees, prefix: string, suffix: string, languageId: string): Promise<boolean> {
  return decideForText(trees, 'eval://case', prefix + suffix, prefix.length, languageId);
}

/** The `raw` and `server` subjects for one boundary mode (label suffixes '+raw' / '+server'). */
export function pipelineSubjects(engine: Engine, o: PipelineOptions): { raw: EvalSubject; server: EvalSubject } {
  const trees = new DocumentTrees();
  const cache = new Map<string, Promise<Shared>>();
  const run = (prefix: string, suffix: string, signal?: AbortSignal): Promise<Shared> => {
    const key = `${prefix}\u0000${suffix}`;
    let p = cache.get(key);
    if (!p) {
      p = (async () => {
        const languageId = o.languageOf(prefix, suffix);
        const multiline = await decideLikeServer(trees, prefix, suffix, languageId);
        o.onDecision?.(multiline);
        const shape = requestShape(prefix, suffix, multiline, o.maxTokens);
        const raw = await engine.complete({
          prefix,
          suffix,
          mode: o.mode,
          maxTokens: shape.maxTokens,
          maxTimeMs: o.maxTimeMs,
          stop: shape.stop,
          stopAfterLeadingWhitespace: shape.stopAfterLeadingWhitespace,
          signal,
        });
        const shown = finishCandidates([raw.completion], { languageId, prefix, suffix }, shape)[0] ?? '';
        return { raw, shown };
      })();
      cache.set(key, p);
      // A failed case is not reused (the second subject retries and records its own error).
      p.catch(() => cache.delete(key));
    }
    return p;
  };
  return {
    raw: { label: `${o.mode}+raw`, complete: async (p, s, signal) => (await run(p, s, signal)).raw },
    server: {
      label: `${o.mode}+server`,
      complete: async (p, s, signal) => {
        const r = await run(p, s, signal);
        cache.delete(`${p}\u0000${s}`);
        return { ...r.raw, completion: r.shown };
      },
    },
  };
}
