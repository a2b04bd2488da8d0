// Public surface of the evaluation harness (the CLI's `eval` subcommand uses this).
export * from './types';
export * from './metrics';
export * from './bootstrap';
export * from './humaneval';
export * from './midtoken';
export { buildMidtokenSuite, type MidtokenBuildOptions } from './midtoken-build';
export { findRepoRoot } from './paths';
export * from './crossfile';
export * from './crossfile-build';
export * from './execute';
export { runEval, summarize, percentile, scoreCompletion, type RunEvalOptions, type EvalProgress } from './runner';
export * from './report';
export * from './format';
export * from './tables';
export * from './heldout-lines';
export * from './cli-run';
