// Bundles the extension and the language server with esbuild and lays out what the VSIX
// ships next to them:
//   dist/extension.js   extension host code (vscode external)
//   dist/server.js      language server (+ engine, for engineThread 'main'; onnxruntime-node external)
//   dist/engineWorker.js the engine worker thread the server starts (beside server.js)
//   dist/member-worker.js an ensemble member's model thread the engine starts (beside it)
//   dist/node_modules/  onnxruntime-node (+ onnxruntime-common) with the native binaries of
//                       the chosen platforms only (BYTEFILL_ORT_PLATFORMS, default linux/x64)
//   syntaxes/*.wasm     web-tree-sitter runtime + grammars, loaded from disk at run time
// Usage: node scripts/bundle.mjs [--dev]   (--dev: sourcemaps, no minify)
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');
const dist = path.join(root, 'dist');
const nm = path.join(root, 'node_modules');

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: dev ? 'linked' : false,
  minify: !dev,
  keepNames: true,
  logLevel: 'warning',
  // Native / runtime-resolved packages stay outside the bundle.
  external: ['vscode', 'onnxruntime-node'],
};

fs.rmSync(dist, { recursive: true, force: true });
await Promise.all([
  esbuild.build({ ...common, entryPoints: [path.join(root, 'extension/src/extension.ts')], outfile: path.join(dist, 'extension.js') }),
  esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'language-server/src/main.ts')],
    outfile: path.join(dist, 'server.js'),
    // onnxruntime telemetry off before anything can load it (engine/src/model/ort.ts sets it too).
    // Only in the server: the extension runs in the editor's shared extension host process.
    banner: { js: "process.env.ORT_DISABLE_TELEMETRY = '1';" },
    // An `import` would pick web-tree-sitter's ESM build, whose import.meta.url is empty in a
    // CJS bundle (createRequire(undefined) then throws); its CJS build resolves paths itself.
    alias: { 'web-tree-sitter': path.join(nm, 'web-tree-sitter/web-tree-sitter.cjs') },
  }),
  // The server starts it with new Worker(path.join(__dirname, 'engineWorker.js')).
  esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'language-server/src/worker/engineWorker.ts')],
    outfile: path.join(dist, 'engineWorker.js'),
    // It loads onnxruntime itself (as a thread or a child process).
    banner: { js: "process.env.ORT_DISABLE_TELEMETRY = '1';" },
  }),
  // An ensemble member's model thread: the engine starts it with new Worker(path.join(__dirname, 'member-worker.js')).
  esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'engine/src/ensemble/member-worker.ts')],
    outfile: path.join(dist, 'member-worker.js'),
    banner: { js: "process.env.ORT_DISABLE_TELEMETRY = '1';" },
  }),
]);

// Tree-sitter wasm files: the server loads them from syntaxes/ (found by walking up from dist/).
const syntaxes = path.join(root, 'syntaxes');
fs.mkdirSync(syntaxes, { recursive: true });
const grammars = ['python', 'typescript', 'tsx', 'javascript'];
fs.copyFileSync(path.join(nm, 'web-tree-sitter/web-tree-sitter.wasm'), path.join(syntaxes, 'web-tree-sitter.wasm'));
for (const g of grammars) {
  fs.copyFileSync(path.join(nm, `@vscode/tree-sitter-wasm/wasm/tree-sitter-${g}.wasm`), path.join(syntaxes, `tree-sitter-${g}.wasm`));
}

// onnxruntime-node: JS + package.json + the native binaries of the selected platforms.
// Placed in dist/node_modules so `require('onnxruntime-node')` from dist/server.js finds it.
const platforms = (process.env.BYTEFILL_ORT_PLATFORMS ?? 'linux/x64').split(',').map((s) => s.trim()).filter(Boolean);
const copyDir = (from, to, filter = () => true) => {
  fs.cpSync(from, to, { recursive: true, filter: (src) => filter(path.relative(from, src)) });
};
const ortDst = path.join(dist, 'node_modules/onnxruntime-node');
const ortSrc = path.join(nm, 'onnxruntime-node');
copyDir(ortSrc, ortDst, (rel) => {
  if (rel === '') return true;
  const parts = rel.split(path.sep);
  if (parts[0] === 'package.json' || parts[0] === 'LICENSE' || parts[0] === 'README.md') return true;
  if (parts[0] === 'dist') return !rel.endsWith('.map') && !rel.endsWith('.d.ts');
  if (parts[0] === 'bin') {
    // bin/napi-v6/<os>/<arch>/...
    if (parts.length <= 2) return true;
    if (parts.length === 3) return platforms.some((p) => p.split('/')[0] === parts[2]);
    return platforms.includes(`${parts[2]}/${parts[3]}`);
  }
  return false; // script/ (install-time downloader), lib/ sources, etc.
});
// Drop install-time-only fields so nothing tries to run the CUDA downloader.
const ortPkg = JSON.parse(fs.readFileSync(path.join(ortDst, 'package.json'), 'utf8'));
delete ortPkg.scripts;
ortPkg.dependencies = { 'onnxruntime-common': ortPkg.dependencies?.['onnxruntime-common'] };
fs.writeFileSync(path.join(ortDst, 'package.json'), JSON.stringify(ortPkg, null, 2));
copyDir(path.join(nm, 'onnxruntime-common'), path.join(dist, 'node_modules/onnxruntime-common'), (rel) => {
  return rel === '' || rel === 'package.json' || rel === 'LICENSE' || rel.startsWith('dist') && !rel.endsWith('.map') && !rel.includes(`${path.sep}esm`) && !rel.endsWith('.d.ts');
});

const size = (p) => {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, f) => n + size(path.join(p, f)), 0);
};
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
console.log(`bundle: dist/extension.js ${mb(size(path.join(dist, 'extension.js')))}, dist/server.js ${mb(size(path.join(dist, 'server.js')))}, ` +
  `dist/engineWorker.js ${mb(size(path.join(dist, 'engineWorker.js')))}, ` +
  `dist/node_modules ${mb(size(path.join(dist, 'node_modules')))} (onnxruntime ${platforms.join(', ')}), syntaxes ${mb(size(syntaxes))}`);
