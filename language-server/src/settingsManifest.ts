// The manifest's `contributes.configuration`, generated from the settings table. Run as a program
// (`npm run gen:settings`) it rewrites package.json; a test fails when package.json differs.
import * as fs from 'fs';
import * as path from 'path';
import { EDITOR_SETTING_KEYS, SETTINGS, SettingSpec } from './settings';

type Json = Record<string, unknown>;

function property(spec: SettingSpec, order: number): Json {
  const p: Json = {};
  switch (spec.type) {
    case 'boolean':
      Object.assign(p, { type: 'boolean', default: spec.default });
      break;
    case 'number':
    case 'integer':
      Object.assign(p, { type: spec.type, default: spec.default });
      break;
    case 'enum':
      Object.assign(p, { type: 'string', default: spec.default });
      break;
    case 'strings':
      Object.assign(p, { type: 'array', default: [...spec.default] });
      break;
    case 'numbers':
      Object.assign(p, { type: 'array', default: [...spec.default] });
      break;
  }
  p.markdownDescription = spec.description;
  if (spec.type === 'enum') {
    p.enum = Object.keys(spec.values);
    p.enumDescriptions = Object.values(spec.values);
  }
  if (spec.type === 'number' || spec.type === 'integer') {
    p.minimum = spec.minimum;
    p.maximum = spec.maximum;
  }
  if (spec.type === 'strings') p.items = { type: 'string' };
  if (spec.type === 'numbers') p.items = { type: 'number', minimum: spec.minimum };
  p.order = order;
  return p;
}

/** `contributes.configuration` for package.json. */
export function manifestConfiguration(): Json {
  const properties: Json = {};
  EDITOR_SETTING_KEYS.forEach((k, i) => {
    properties[`bytefill.${k}`] = property(SETTINGS[k], i);
  });
  return { title: 'bytefill', properties };
}

/** package.json text with its configuration replaced (2-space JSON, trailing newline, as npm writes it). */
export function withManifestConfiguration(packageJsonText: string): string {
  const pkg = JSON.parse(packageJsonText) as Json;
  const contributes = (pkg.contributes ?? {}) as Json;
  contributes.configuration = manifestConfiguration();
  pkg.contributes = contributes;
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

if (require.main === module) {
  const file = path.resolve(process.argv[2] ?? 'package.json');
  const before = fs.readFileSync(file, 'utf8');
  const after = withManifestConfiguration(before);
  if (after === before) console.log(`${file}: contributes.configuration is up to date`);
  else {
    fs.writeFileSync(file, after);
    console.log(`${file}: contributes.configuration regenerated from language-server/src/settings.ts`);
  }
}
