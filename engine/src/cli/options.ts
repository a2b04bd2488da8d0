// Maps CLI options to engine options and request options (shared by complete, eval, bench, score).
import { BOUNDARY_MODES, BoundaryMode, BytefillError, CompletionRequest, DEFAULT_MAX_TOKENS, Device, DEVICES, EngineOptions, ENSEMBLE_MODES, Logger, OPTION_RANGES } from '../index';
import { intOpt, numOpt, oneOf, opt, ParsedArgs, Range } from './args';

const TOKEN_BUDGET_RANGE: Range = [0, 1 << 20];
/** --max-time in ms: up to a day. */
const MAX_TIME_RANGE: Range = [0, 86_400_000];

export const ENGINE_OPTIONS = ['model', 'weights', 'ensemble', 'device', 'variant', 'threads', 'fim-format', 'prefix-tokens', 'suffix-tokens'];
export const REQUEST_OPTIONS = ['mode', 'max-tokens', 'max-time', 'temperature', 'top-p', 'top-k', 'seed', 'stop', 'uscd-alpha', 'uscd-threshold', 'uscd-beta'];
export const COMMON_FLAGS = ['json', 'uscd', 'verbose', 'no-fim', 'offline', 'no-int8-activations', 'no-ensemble-workers'];

export function engineOptions(a: ParsedArgs, log: Logger): EngineOptions {
  const weights = opt(a, 'weights')?.split(',').map(Number);
  if (weights && weights.some((w) => !Number.isFinite(w) || w < 0)) throw new BytefillError('BAD_ARGUMENT', `--weights must be comma-separated non-negative numbers, got '${opt(a, 'weights')}'`);
  const ensembleArg = opt(a, 'ensemble');
  return {
    models: a.options.get('model'),
    weights,
    ensemble: ensembleArg === undefined ? undefined : oneOf(a, 'ensemble', ENSEMBLE_MODES, 'mixture'),
    device: oneOf<Device>(a, 'device', DEVICES, 'auto'),
    variant: opt(a, 'variant'),
    offline: a.flags.has('offline'),
    onDownload: process.stderr.isTTY && !a.flags.has('json') ? (p) => process.stderr.write(`\r${p.file}: ${(p.bytes / 1e6).toFixed(1)} / ${(p.total / 1e6).toFixed(1)} MB`.padEnd(79)) : undefined,
    threads: intOpt(a, 'threads', undefined, OPTION_RANGES.threads),
    int8Activations: a.flags.has('no-int8-activations') ? false : undefined,
    ensembleWorkers: a.flags.has('no-ensemble-workers') ? false : undefined,
    fim: { format: opt(a, 'fim-format') ? oneOf(a, 'fim-format', ['PSM', 'SPM'] as const, 'PSM') : undefined, disabled: a.flags.has('no-fim') },
    prefixTokens: intOpt(a, 'prefix-tokens', undefined, TOKEN_BUDGET_RANGE),
    suffixTokens: intOpt(a, 'suffix-tokens', undefined, TOKEN_BUDGET_RANGE),
    log,
  };
}

export function modeOption(a: ParsedArgs, fallback: BoundaryMode = 'byte'): BoundaryMode {
  return oneOf(a, 'mode', BOUNDARY_MODES, fallback);
}

export function requestOptions(a: ParsedArgs): Omit<CompletionRequest, 'prefix' | 'suffix'> {
  const R = OPTION_RANGES;
  return {
    mode: modeOption(a),
    maxTokens: intOpt(a, 'max-tokens', DEFAULT_MAX_TOKENS, R.maxTokens),
    maxTimeMs: intOpt(a, 'max-time', undefined, MAX_TIME_RANGE),
    stop: a.options.get('stop')?.map(unescape),
    sampling: {
      temperature: numOpt(a, 'temperature', undefined, R.temperature),
      topP: numOpt(a, 'top-p', undefined, R.topP),
      topK: intOpt(a, 'top-k', undefined, R.topK),
      seed: intOpt(a, 'seed', undefined, [0, 2 ** 32 - 1]),
    },
    uscd: a.flags.has('uscd')
      ? { enabled: true, alpha: numOpt(a, 'uscd-alpha', undefined, [0, 10]), threshold: numOpt(a, 'uscd-threshold', undefined, [0, 1]), beta: numOpt(a, 'uscd-beta', undefined, [0, 1]) }
      : undefined,
  };
}

/** Lets shells pass "\n" as a stop string. */
function unescape(s: string): string {
  return s.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}
