#!/usr/bin/env node
// `npm run -s bytefill -- <command>`: bundles the engine CLI with esbuild (about a second) and runs it.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outfile = path.join(root, 'dist', 'cli.js');
await build({
  entryPoints: [path.join(root, 'engine', 'src', 'cli', 'main.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile,
  external: ['onnxruntime-node'],
  // onnxruntime telemetry off before anything can load it (engine/src/model/ort.ts sets it too).
  banner: { js: "process.env.ORT_DISABLE_TELEMETRY = '1';" },
  sourcemap: true,
  logLevel: 'error',
});
const r = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
