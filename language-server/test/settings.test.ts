// The settings table and what is derived from it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { completionSettingsChanged, modelKey, normalizeConfig } from '../src/config';
import { DEFAULT_CONFIG, ServerConfig } from '../src/protocol';
import { keysWith, setAt, SETTING_KEYS, SETTINGS, valueAt } from '../src/settings';
import { manifestConfiguration, withManifestConfiguration, withReadmeSettings } from '../src/settingsManifest';
import { REPO } from './lspClient';

const PKG = path.join(REPO, 'package.json');

test('package.json contributes.configuration is the settings table (run `npm run gen:settings` after editing it)', () => {
  const text = fs.readFileSync(PKG, 'utf8');
  assert.deepEqual(JSON.parse(text).contributes.configuration, manifestConfiguration());
  assert.equal(withManifestConfiguration(text), text, 'package.json is not formatted as gen:settings writes it');
});

test("README.md's settings table is the settings table (run `npm run gen:settings` after editing it)", () => {
  const text = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  assert.equal(withReadmeSettings(text), text);
});

test('a bad value of any setting falls back to its default with one warning naming the key', () => {
  for (const key of SETTING_KEYS) {
    const { config, warnings } = normalizeConfig({ [key]: { not: 'valid' } });
    assert.deepEqual(valueAt(config, key), valueAt(DEFAULT_CONFIG, key), key);
    assert.equal(warnings.length, 1, `${key}: ${warnings.join(' / ')}`);
    assert.ok(warnings[0].startsWith(`bytefill.${key}: `), warnings[0]);
  }
});

test('an out-of-range number falls back and the warning gives the range', () => {
  const { config, warnings } = normalizeConfig({ maxTokens: 5000, 'uscd.threshold': 1.5 });
  assert.equal(config.maxTokens, SETTINGS.maxTokens.default);
  assert.equal(config.uscd.threshold, SETTINGS['uscd.threshold'].default);
  assert.deepEqual(warnings, [
    'bytefill.uscd.threshold: expected a number in [0, 1], got 1.5; using 0.2',
    'bytefill.maxTokens: expected an integer in [1, 1024], got 5000; using 64',
  ]);
});

test('every setting that shapes a completion clears the cache when it changes (prefixChars and suffixChars too)', () => {
  const changed = (key: string): ServerConfig => {
    const c = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>;
    const v = valueAt(c, key);
    setAt(c, key, typeof v === 'number' ? v + 1 : typeof v === 'boolean' ? !v : Array.isArray(v) ? [...v, 1] : `${String(v)}x`);
    return c as unknown as ServerConfig;
  };
  const stale = [...keysWith('reloadEngine'), ...keysWith('clearCache')];
  assert.ok(stale.includes('prefixChars') && stale.includes('suffixChars'));
  for (const key of SETTING_KEYS) {
    assert.equal(completionSettingsChanged(DEFAULT_CONFIG, changed(key)), stale.includes(key), key);
    assert.equal(modelKey(DEFAULT_CONFIG) !== modelKey(changed(key)), keysWith('reloadEngine').includes(key), key);
  }
});
