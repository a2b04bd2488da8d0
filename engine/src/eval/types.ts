// Shared types of the evaluation harness.
import type { CompletionResult, StopReason } from '../core/types';

export type EvalKind = 'humaneval' | 'midtoken';

export interface EvalCase {
  id: string;
  prefix: string;
  suffix: string;
  /** The true middle. */
  reference: string;
  /** HumanEval: the `check(candidate)` test code; pass@1 is computed when present. */
  test?: string;
  entryPoint?: string;
  kind: EvalKind;
  /** Mid-token cases with the cursor inside an identifier: the identifier's unfinished tail. */
  restOfIdentifier?: string;
  /** Optional grouping info (language, cursor kind); ignored by the metrics. */
  lang?: string;
  tag?: string;
}

export interface EvalSubject {
  /** Mode name shown in tables, e.g. 'token', 'byte', 'byte+uscd'. */
  label: string;
  complete(prefix: string, suffix: string, signal?: AbortSignal): Promise<CompletionResult>;
  /** Bits per UTF-8 byte of `middle` given prefix and suffix (lower is better). */
  middleBitsPerByte?(prefix: string, suffix: string, middle: string): Promise<number>;
}

export interface EvalRecord {
  id: string;
  label: string;
  kind: EvalKind;
  lang?: string;
  tag?: string;
  /** As scored (after `firstLineOnly` truncation, if set). */
  completion: string;
  /** Only for cases with a test. */
  passed?: boolean;
  timedOut?: boolean;
  execError?: string;
  exactMatch: boolean;
  firstLineExactMatch: boolean;
  editSimilarity: number;
  prefixMatchLength: number;
  identifierContinuation?: boolean;
  bitsPerByte?: number;
  /** UTF-8 bytes of the reference (weights bitsPerByte into the total). */
  middleBytes: number;
  /** Wall-clock ms of subject.complete as seen by the runner. */
  ms: number;
  stopReason?: StopReason;
  /** Set when complete() threw or the case timed out; the completion is then ''. */
  error?: string;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  mean: number;
}

export interface EvalSummary {
  label: string;
  n: number;
  /** Fraction passed among cases with a test; null when none had one. */
  pass1: number | null;
  nExecuted: number;
  exactMatch: number;
  firstLineEM: number;
  editSimilarity: number;
  /** Mean characters of the reference reproduced before the first difference. */
  prefixMatchLength: number;
  /** Fraction among cases with restOfIdentifier; null when none. */
  identifierContinuation: number | null;
  nIdentifier: number;
  /** Mean of per-case bits per byte; null when the subject provides none. */
  bitsPerByte: number | null;
  /** Sum of bits over sum of bytes (weights long middles more). */
  bitsPerByteTotal: number | null;
  latency: LatencySummary;
  /** Cases whose completion failed (threw / timed out). */
  errors: number;
}

export interface EvalRun {
  summary: EvalSummary;
  records: EvalRecord[];
  /** True when the run was stopped by the signal; records/summary cover the finished cases. */
  aborted: boolean;
}
