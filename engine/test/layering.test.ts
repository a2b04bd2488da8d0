// The dependency rules, checked on the import graph (parsed with the TypeScript compiler, so
// multi-line imports, `export ... from`, require() and import() all count):
// - inside engine/src, folders are layers and import only layers below them (ENGINE_LAYERS);
// - the engine imports no vscode or LSP package and nothing of the language server or extension;
// - the language server imports the engine only through engine/src/index.ts (and the import-free
//   constants of engine/src/core/defaults.ts, which its settings table shares), the extension
//   imports the language server only through language-server/src/index.ts and never the engine;
// - no side-effect imports inside the engine (no registries filled by importing a module).
// The project references (tsconfig.json per part) make the build fail on a wrong-way import
// between parts; this test also covers the order inside the engine, which tsc cannot see.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { repoRoot } from './helpers';

/**
 * The engine's layers, bottom first. A module may import modules of its own folder and of any
 * layer below its own; folders that share a layer are peers and may not import each other.
 * `index.ts` is the public entry (the root file of engine/src). CONTRIBUTING.md ("Layers")
 * shows the same list, top first; a test below keeps the two equal.
 */
export const ENGINE_LAYERS: readonly (readonly string[])[] = [
  ['core'], // public types and BytefillError
  ['tokenizer', 'model'], // BPE tokenizer; onnxruntime sessions, KV state, prefix cache
  ['hub'], // models from the Hugging Face Hub: specs, shared cache, variants, downloads
  ['fim', 'decode'], // prompt templates; sampling and token steppers
  ['byte'], // exact byte-level covers: one core, branch-and-bound and streaming schedulers
  ['bundle'], // one loaded model: model + tokenizer + template + vocabulary index + cache
  ['complete'], // single-model completion, prompt budget, middle scoring
  ['ensemble', 'uscd'], // the other completion strategies
  ['api'], // the Engine facade: picks the strategy
  ['eval'], // evaluation harness
  ['index.ts'], // the public entry
  ['cli'], // the command line, on the public entry only
];

const LSP_OR_EDITOR = /^(vscode|vscode-languageserver|vscode-languageserver-textdocument|vscode-languageclient|vscode-jsonrpc|vscode-languageserver-protocol)(\/|$)/;

interface Edge {
  from: string; // repo-relative path of the importing file
  spec: string; // the module specifier as written
  target: string | null; // repo-relative resolved path for relative specifiers, else null
  sideEffect: boolean; // `import './x'` with no bindings
}

function walk(dir: string, exts: RegExp): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, exts));
    else if (exts.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function importsOf(file: string): Edge[] {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false);
  const from = path.relative(repoRoot, file).split(path.sep).join('/');
  const edges: Edge[] = [];
  const add = (spec: string, sideEffect: boolean) => {
    const target = spec.startsWith('.') ? path.relative(repoRoot, path.resolve(path.dirname(file), spec)).split(path.sep).join('/') : null;
    edges.push({ from, spec, target, sideEffect });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.importClause === undefined);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, false);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      add(node.moduleReference.expression.text, false);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      const isDynamic = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const arg = node.arguments[0];
      if ((isRequire || isDynamic) && ts.isStringLiteral(arg)) add(arg.text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, false); // typeof import('...')
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

const filesOf = (part: string) => walk(path.join(repoRoot, part), /\.ts$/);

/** The layer unit of a path inside engine/src: its top folder, or the root file's name. */
function unitOf(rel: string): string | null {
  const m = /^engine\/src\/(.+)$/.exec(rel);
  if (!m) return null;
  const parts = m[1].split('/');
  return parts.length === 1 ? parts[0].replace(/(\.d)?\.(ts|js)$/, '') + '.ts' : parts[0];
}

const levelOf = new Map<string, number>();
ENGINE_LAYERS.forEach((units, i) => units.forEach((u) => levelOf.set(u, i)));

test('every folder and root file of engine/src has a place in the layer table', () => {
  const units = fs.readdirSync(path.join(repoRoot, 'engine', 'src'));
  const missing = units.filter((u) => !levelOf.has(u));
  assert.deepEqual(missing, [], `add these to ENGINE_LAYERS (engine/test/layering.test.ts) and CONTRIBUTING.md: ${missing.join(', ')}`);
});

test('inside engine/src every import points to the same folder or a lower layer', () => {
  const bad: string[] = [];
  for (const f of filesOf('engine/src')) {
    for (const e of importsOf(f)) {
      if (e.target === null) continue;
      const a = unitOf(e.from)!;
      const b = unitOf(e.target);
      if (b === null) {
        bad.push(`${e.from} imports '${e.spec}', outside engine/src`);
        continue;
      }
      if (a === b) continue;
      const la = levelOf.get(a);
      const lb = levelOf.get(b);
      if (la === undefined || lb === undefined) continue; // reported by the table test
      if (lb >= la) bad.push(`${e.from} (${a}, layer ${la}) imports '${e.spec}' (${b}, layer ${lb}): ${lb === la ? 'peer' : 'upward'} edge`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the engine has no side-effect imports (nothing registers itself by being imported)', () => {
  const bad = filesOf('engine/src').flatMap((f) => importsOf(f).filter((e) => e.sideEffect).map((e) => `${e.from}: import '${e.spec}'`));
  assert.deepEqual(bad, []);
});

test('the engine (sources and tests) imports no vscode or LSP package and nothing of the language server or extension', () => {
  const bad: string[] = [];
  for (const f of [...filesOf('engine/src'), ...filesOf('engine/test')]) {
    for (const e of importsOf(f)) {
      if (LSP_OR_EDITOR.test(e.spec)) bad.push(`${e.from} imports '${e.spec}'`);
      if (e.target && !e.target.startsWith('engine/')) bad.push(`${e.from} imports '${e.spec}' (outside engine/)`);
    }
  }
  assert.deepEqual(bad, []);
});

/** Import-free constants the settings table shares; importing engine/src/index there would pull the engine into the editor extension's bundle. */
const ENGINE_DEFAULTS = 'engine/src/core/defaults';

test('engine/src/core/defaults.ts imports nothing (the editor extension bundles it)', () => {
  assert.deepEqual(importsOf(path.join(repoRoot, `${ENGINE_DEFAULTS}.ts`)).map((e) => e.spec), []);
});

test('the language server imports the engine only through engine/src/index.ts (and its defaults)', () => {
  const bad: string[] = [];
  for (const f of [...filesOf('language-server/src'), ...filesOf('language-server/test')]) {
    for (const e of importsOf(f)) {
      if (e.target === null) continue;
      if (e.target.startsWith('engine/') && e.target !== 'engine/src/index' && e.target !== ENGINE_DEFAULTS) bad.push(`${e.from} imports '${e.spec}'`);
      if (e.target.startsWith('extension/')) bad.push(`${e.from} imports '${e.spec}' (the extension is above the server)`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the extension imports the language server only through language-server/src/index.ts, and never the engine', () => {
  const bad: string[] = [];
  for (const f of [...filesOf('extension/src'), ...filesOf('extension/test')]) {
    for (const e of importsOf(f)) {
      if (e.target === null) continue;
      if (e.target.startsWith('engine/')) bad.push(`${e.from} imports '${e.spec}'`);
      if (e.target.startsWith('language-server/') && e.target !== 'language-server/src/index') bad.push(`${e.from} imports '${e.spec}'`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the engine CLI and the scripts use the engine only through its public entry', () => {
  const bad: string[] = [];
  for (const f of filesOf('engine/src/cli')) {
    for (const e of importsOf(f)) {
      if (e.target && !e.target.startsWith('engine/src/cli/') && e.target !== 'engine/src/index') bad.push(`${e.from} imports '${e.spec}'`);
    }
  }
  // Scripts: TypeScript imports of engine/src, and JavaScript requires of the compiled out/engine/src.
  for (const f of walk(path.join(repoRoot, 'scripts'), /\.(ts|js|mjs|cjs)$/)) {
    const rel = path.relative(repoRoot, f).split(path.sep).join('/');
    for (const e of importsOf(f)) {
      if (e.target?.startsWith('engine/') && e.target !== 'engine/src/index') bad.push(`${rel} imports '${e.spec}'`);
    }
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/['"]([^'"\s]*out\/engine\/src\/[^'"\s]*)['"]/g)) {
      if (!/out\/engine\/src\/(index|cli\/main)(\.js)?$/.test(m[1])) bad.push(`${rel} uses '${m[1]}'`);
    }
  }
  assert.deepEqual(bad, []);
});

test('CONTRIBUTING.md lists the same layer order as ENGINE_LAYERS', () => {
  const doc = fs.readFileSync(path.join(repoRoot, 'CONTRIBUTING.md'), 'utf8');
  const block = /<!-- layers:begin -->\s*```text\n([\s\S]*?)```\s*<!-- layers:end -->/.exec(doc);
  assert.ok(block, 'CONTRIBUTING.md needs the layer list between <!-- layers:begin --> and <!-- layers:end -->');
  const listed = block[1].trim().split('\n').map((l) => l.replace(/#.*$/, '').trim().split(/\s*,\s*/).filter(Boolean));
  assert.deepEqual(listed, [...ENGINE_LAYERS].reverse().map((u) => [...u]));
});

test('the import parser sees every import form (so the checks above cannot pass by missing edges)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-layering-'));
  try {
    const f = path.join(dir, 'probe.ts');
    fs.writeFileSync(f, [
      "import {",
      "  a,",
      "} from './multi';",
      "import type { T } from './typeonly';",
      "export * as ns from './reexport';",
      "import './side';",
      "const r = require('./req');",
      "const d = import('./dyn');",
      "type Q = typeof import('./typeof');",
      "// import { c } from './comment';",
    ].join('\n'));
    const specs = importsOf(f).map((e) => e.spec);
    assert.deepEqual(specs, ['./multi', './typeonly', './reexport', './side', './req', './dyn', './typeof']);
    assert.deepEqual(importsOf(f).filter((e) => e.sideEffect).map((e) => e.spec), ['./side']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
