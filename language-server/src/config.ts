// Validation of the `bytefill` settings object against the settings table (settings.ts). Lenient:
// a bad value falls back to its default with a one-line warning naming the key, so a typo in
// settings never stops completions.
import { DEFAULT_CONFIG, ServerConfig } from './protocol';
import { checkSetting, keysWith, setAt, SETTING_KEYS, SETTINGS, SettingKey, valueAt } from './settings';

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
  const out: Obj = {};
  for (const key of SETTING_KEYS) {
    const { value, warning } = checkSetting(key, SETTINGS[key], get(src, key));
    if (warning) warnings.push(warning);
    setAt(out, key, value);
  }
  const config = out as unknown as ServerConfig;

  // Rules across settings.
  const models = Math.max(config.models.length, 1);
  if (config.weights.length > 0 && config.weights.length !== models) {
    warnings.push(`bytefill.weights: ${config.weights.length} weights for ${models} models, ignoring`);
    config.weights = [];
  }
  if (config.weights.length > 0 && config.weights.every((x) => x === 0)) {
    warnings.push('bytefill.weights: all zero, ignoring');
    config.weights = [];
  }
  if (config.languages.length === 0) config.languages = [...DEFAULT_CONFIG.languages];
  return { config, warnings };
}

function keyOf(c: ServerConfig, keys: SettingKey[]): string {
  return JSON.stringify(keys.map((k) => valueAt(c, k)));
}

const ENGINE_KEYS = keysWith('reloadEngine');
const COMPLETION_KEYS = [...ENGINE_KEYS, ...keysWith('clearCache')];
const CLIENT_KEYS = keysWith('restartClient');

/** Settings that need the engine re-created when they change (onChange 'reloadEngine'). */
export function modelKey(c: ServerConfig): string {
  return keyOf(c, ENGINE_KEYS);
}

/** Whether cached completions were made under settings that changed (onChange 'reloadEngine' or 'clearCache'). */
export function completionSettingsChanged(before: ServerConfig, after: ServerConfig): boolean {
  return keyOf(before, COMPLETION_KEYS) !== keyOf(after, COMPLETION_KEYS);
}

/** Whether the editor's client must restart (onChange 'restartClient': its document selector is fixed at start). */
export function clientSettingsChanged(before: ServerConfig, after: ServerConfig): boolean {
  return keyOf(before, CLIENT_KEYS) !== keyOf(after, CLIENT_KEYS);
}

/** Whether a document language is enabled by the `languages` setting. */
export function languageEnabled(c: ServerConfig, languageId: string): boolean {
  if (c.disabledLanguages.includes(languageId)) return false;
  return c.languages.includes('*') || c.languages.includes(languageId);
}
