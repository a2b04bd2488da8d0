// onnxruntime telemetry stays off: a real engine load and completion in a child process whose
// HOME and TMPDIR are fresh folders, started WITHOUT ORT_DISABLE_TELEMETRY in its environment (the
// engine must set it itself before onnxruntime loads), leaves no telemetry database and no
// mat-debug log behind. Also checks that bundling keeps the variable ahead of the first require.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './helpers';

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out;
}

test('engine load + completion with telemetry unset in the environment leaves no onnxruntime.db and no mat-debug log', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'bf-telemetry-'));
  const home = path.join(base, 'home');
  const tmp = path.join(base, 'tmp');
  fs.mkdirSync(home);
  fs.mkdirSync(tmp);
  try {
    const script = `
      const before = process.env.ORT_DISABLE_TELEMETRY ?? null;
      const { Engine } = require(${JSON.stringify(path.join(repoRoot, 'out', 'engine', 'src', 'index.js'))});
      (async () => {
        const e = await Engine.create({ threads: 1, device: 'cpu' });
        const r = await e.complete({ prefix: 'for item in items:\\n    conti', suffix: '', maxTokens: 4 });
        await e.dispose();
        process.stdout.write(JSON.stringify({ pid: process.pid, before, after: process.env.ORT_DISABLE_TELEMETRY, tokens: r.generatedTokens }));
      })().catch((err) => { console.error(err); process.exit(1); });`;
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, TMP: tmp, TEMP: tmp };
    delete env.ORT_DISABLE_TELEMETRY;
    delete env.XDG_CACHE_HOME;
    const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { pid: number; before: string | null; after: string; tokens: number };
    assert.equal(j.before, null, 'the child started without the variable');
    assert.equal(j.after, '1', 'the engine set it');
    assert.ok(j.tokens > 0, 'a completion ran');

    const homeFiles = walk(home);
    assert.deepEqual(homeFiles.filter((f) => /onnxruntime|DeveloperTools|Microsoft/i.test(f)), [], 'no telemetry files under HOME');
    assert.deepEqual(walk(tmp).filter((f) => /mat-debug/.test(f)), [], 'no mat-debug log in TMPDIR');
    // onnxruntime may ignore TMPDIR: also look where it wrote them before.
    assert.equal(fs.existsSync(`/tmp/mat-debug-${j.pid}.log`), false, 'no /tmp/mat-debug-<pid>.log');
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('only engine/src/model/ort.ts loads onnxruntime-node (others import it from there or as types)', () => {
  const offenders: string[] = [];
  const scan = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) scan(p);
      else if (p.endsWith('.ts') && !p.endsWith(path.join('model', 'ort.ts')) && p !== path.join(repoRoot, 'engine', 'test', 'privacy-telemetry.test.ts')) {
        const src = fs.readFileSync(p, 'utf8');
        if (/^import (?!type )[^;]*['"]onnxruntime-node['"]/m.test(src) || /require\(['"]onnxruntime-node['"]\)/.test(src)) offenders.push(path.relative(repoRoot, p));
      }
    }
  };
  for (const d of ['engine', 'language-server', 'extension']) scan(path.join(repoRoot, d));
  assert.deepEqual(offenders, []);
});

test('bundled server and CLI set ORT_DISABLE_TELEMETRY before they require onnxruntime-node (with and without the banner)', async () => {
  const esbuild = await import('esbuild');
  for (const entry of ['language-server/src/main.ts', 'engine/src/cli/main.ts']) {
    const r = await esbuild.build({
      entryPoints: [path.join(repoRoot, entry)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      external: ['vscode', 'onnxruntime-node'],
      alias: { 'web-tree-sitter': path.join(repoRoot, 'node_modules/web-tree-sitter/web-tree-sitter.cjs') },
    });
    const js = r.outputFiles[0].text;
    const set = js.indexOf('process.env.ORT_DISABLE_TELEMETRY = "1"');
    const req = js.indexOf('require("onnxruntime-node")');
    assert.ok(set >= 0 && req >= 0, `${entry}: both present`);
    assert.ok(set < req, `${entry}: the variable is set before the require (module order alone)`);
  }
  // And the build scripts add the assignment as the bundle's first line.
  for (const script of ['scripts/bundle.mjs', 'scripts/cli.mjs']) {
    assert.match(fs.readFileSync(path.join(repoRoot, script), 'utf8'), /banner: \{ js: "process\.env\.ORT_DISABLE_TELEMETRY = '1';" \}/, script);
  }
});
