// Validation of the `bytefill` settings object. Lenient: bad values fall back to defaults
// with a warning, so a typo in settings never stops completions.
import { DEFAULT_CONFIG, LogLevelName, ServerConfig } from './protocol';

export interface NormalizedConfig {
  config: ServerConfig;
  warnings: string[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** VS Code may hand over dotted keys flat ("uscd.enabled") or nested ({uscd:{enabled}}). */
function get(raw: Obj, key: string): unknown {
  if (key in raw) return raw[key];
  const dot = key.indexOf('.');
  if (dot > 0) {
    const head = raw[key.slice(0, dot)];
    if (isObj(head)) return get(head, key.slice(dot + 1));
  }
  return undefined;
}

export function normalizeConfig(raw: unknown): NormalizedConfig {
  const warnings: string[] = [];
  const src: Obj = isObj(raw) ? raw : {};
  const d = DEFAULT_CONFIG;

  const bool = (key: string, def: boolean): boolean => {
    const v = get(src, key);
    if (v === undefined || v === null) return def;
    if (typeof v === 'boolean') return v;
    warnings.push(`bytefill.${key}: expected a boolean, using ${def}`);
    return def;
  };
  const num = (key: string, def: number, min: number, max: number, int = false): number => {
    const v = get(src, key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      warnings.push(`bytefill.${key}: expected a number in [${min}, ${max}], using ${def}`);
      return def;
    }
    return int ? Math.round(v) : v;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], def: T): T => {
    const v = get(src, key);
    if (v === undefined || v === null) return def;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    warnings.push(`bytefill.${key}: expected one of ${allowed.join('|')}, using ${def}`);
    return def;
  };
  const strings = (key: string, def: string[]): string[] => {
    const v = get(src, key);
    if (v === undefined || v === null) return [...def];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
      return (v as string[]).map((s) => s.trim()).filter((s) => s.length > 0);
    }
    warnings.push(`bytefill.${key}: expected an array of strings, using default`);
    return [...def];
  };

  const models = strings('models', d.models);
  let weights: number[] = [];
  const w = get(src, 'weights');
  if (Array.isArray(w) && w.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
    weights = w as number[];
  } else if (w !== undefined && w !== null) {
    warnings.push('bytefill.weights: expected an array of non-negative numbers, ignoring');
  }
  if (weights.length > 0 && weights.length !== Math.max(models.length, 1)) {
    warnings.push(`bytefill.weights: ${weights.length} weights for ${Math.max(models.length, 1)} models, ignoring`);
    weights = [];
  }
  if (weights.length > 0 && weights.every((x) => x === 0)) {
    warnings.push('bytefill.weights: all zero, ignoring');
    weights = [];
  }
  let languages = strings('languages', d.languages);
  if (languages.length === 0) languages = ['*'];

  const config: ServerConfig = {
    enable: bool('enable', d.enable),
    models,
    ensemble: oneOf('ensemble', ['mixture', 'product'] as const, d.ensemble),
    weights,
    mode: oneOf('mode', ['byte', 'heal', 'token'] as const, d.mode),
    uscd: {
      enabled: bool('uscd.enabled', d.uscd.enabled),
      alpha: num('uscd.alpha', d.uscd.alpha, 0, 10),
      threshold: num('uscd.threshold', d.uscd.threshold, 0, 1),
    },
    device: oneOf('device', ['auto', 'cpu', 'webgpu', 'cuda'] as const, d.device),
    maxTokens: num('maxTokens', d.maxTokens, 1, 1024, true),
    maxTimeMs: num('maxTimeMs', d.maxTimeMs, 100, 120000, true),
    debounceMs: num('debounceMs', d.debounceMs, 0, 5000, true),
    languages,
    extraContext: bool('extraContext', d.extraContext),
    logLevel: oneOf<LogLevelName>('logLevel', ['debug', 'info', 'warn', 'error', 'off'] as const, d.logLevel),
    prefixChars: num('prefixChars', d.prefixChars, 0, 200000, true),
    suffixChars: num('suffixChars', d.suffixChars, 0, 100000, true),
  };
  return { config, warnings };
}

/** Settings that need the engine re-created when they change. */
export function modelKey(c: ServerConfig): string {
  return JSON.stringify([c.models, c.ensemble, c.weights, c.device]);
}

/** Whether a document language is enabled by the `languages` setting. */
export function languageEnabled(c: ServerConfig, languageId: string): boolean {
  return c.languages.includes('*') || c.languages.includes(languageId);
}
