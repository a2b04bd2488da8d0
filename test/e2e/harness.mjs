// Helpers for the end-to-end tests: a real VS Code (code-server) in Debian's chromium,
// driven by playwright-core. Plain ESM JavaScript so the e2e run needs no build step.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.join(REPO_ROOT, '.e2e');
export const SCREENSHOTS = path.join(ARTIFACTS, 'screenshots');
export const CHROMIUM = process.env.BYTEFILL_E2E_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-dev-shm-usage',
];

const t0 = Date.now();
export function log(...args) {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  console.log(`[e2e ${s}s]`, ...args);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor(what, fn, { timeoutMs = 30_000, intervalMs = 200 } = {}) {
  const start = Date.now();
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
        (lastErr ? ` (last error: ${lastErr.message})` : ''));
    }
    await sleep(intervalMs);
  }
}

/** The VSIX under test: $BYTEFILL_VSIX, else bytefill-<version>.vsix, else the newest *.vsix in the repo root. */
export function findVsix() {
  if (process.env.BYTEFILL_VSIX) {
    const p = path.resolve(process.env.BYTEFILL_VSIX);
    if (!fs.existsSync(p)) throw new Error(`BYTEFILL_VSIX=${p} does not exist`);
    return { path: p, fromRepo: false };
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const named = path.join(REPO_ROOT, `${pkg.name}-${pkg.version}.vsix`);
  if (fs.existsSync(named)) return { path: named, fromRepo: true };
  const all = fs.readdirSync(REPO_ROOT).filter((f) => f.endsWith('.vsix'))
    .map((f) => path.join(REPO_ROOT, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (all.length) return { path: all[0], fromRepo: true };
  throw new Error(`no VSIX found in ${REPO_ROOT} (run \`npm run package\` first, or set BYTEFILL_VSIX)`);
}

/** Manifest (package.json) inside the VSIX, for command titles. */
export function readVsixManifest(vsix) {
  const r = spawnSync('unzip', ['-p', vsix, 'extension/package.json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status === 0 && r.stdout) {
    try { return JSON.parse(r.stdout); } catch { /* fall through */ }
  }
  // unzip missing: use the repo manifest (what `npm run package` packs)
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
}

export function findCodeServer() {
  const cache = process.env.BYTEFILL_E2E_CACHE || path.join(os.homedir(), '.cache', 'bytefill-e2e');
  const p = process.env.BYTEFILL_CODE_SERVER || path.join(cache, 'code-server', 'node_modules', '.bin', 'code-server');
  if (!fs.existsSync(p)) throw new Error(`code-server not found at ${p}: run \`bash scripts/e2e-setup.sh\` first`);
  return p;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function mkTemp(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bytefill-e2e-${prefix}-`));
}

export function rmrf(p) {
  if (process.env.BYTEFILL_E2E_KEEP) return;
  try { fs.rmSync(p, { recursive: true, force: true }); } catch { /* ignore */ }
}

/** Settings for a clean, quiet test profile (plus `extra`). */
export function userSettings(extra = {}) {
  return {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'security.workspace.trust.enabled': false,
    'git.enabled': false,
    'files.autoSave': 'off',
    'editor.inlineSuggest.enabled': true,
    // keep the ordinary suggest widget out of the way: Tab must go to the inline suggestion
    'editor.quickSuggestions': { other: false, comments: false, strings: false },
    'editor.suggestOnTriggerCharacters': false,
    'editor.wordBasedSuggestions': 'off',
    'editor.parameterHints.enabled': false,
    'editor.hover.enabled': false,
    'editor.minimap.enabled': false,
    'chat.commandCenter.enabled': false,
    ...extra,
  };
}

export function writeProfile(userDataDir, settings) {
  const userDir = path.join(userDataDir, 'User');
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify(settings, null, 2));
}

function runCodeServerCli(bin, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      reject(new Error(`code-server ${args.join(' ')} timed out after ${timeoutMs} ms\n${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`code-server ${args.join(' ')} exited with ${code}\n${out}`));
    });
  });
}

export async function installExtension(bin, vsix, extensionsDir, userDataDir) {
  const out = await runCodeServerCli(bin, [
    '--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--force',
  ], 180_000);
  const installed = fs.readdirSync(extensionsDir).filter((d) => !d.startsWith('.') && d !== 'extensions.json');
  if (!installed.some((d) => d.toLowerCase().includes('bytefill'))) {
    throw new Error(`extension not found in ${extensionsDir} after install:\n${out}`);
  }
  return installed;
}

/** Starts code-server in its own process group; `env` entries are added to (undefined: removed
 *  from) the environment it, its extension host and bytefill's server inherit.
 *  Returns { url, stop(), output() }. */
export async function startCodeServer(bin, { userDataDir, extensionsDir, folder, env = {} }) {
  const port = await freePort();
  const args = [
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--ignore-last-opened',
    '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, folder,
  ];
  const childEnv = { ...process.env, VSCODE_PROXY_URI: '', ORT_DISABLE_TELEMETRY: '1' };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: childEnv });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const killGroup = (sig) => { try { process.kill(-child.pid, sig); } catch { /* gone */ } };
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (!exited) {
      killGroup('SIGTERM');
      for (let i = 0; i < 30 && !exited; i++) await sleep(100);
    }
    killGroup('SIGKILL'); // the whole group: extension host, language server, ...
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor('code-server /healthz', async () => {
      if (exited) throw new Error(`code-server exited early:\n${output}`);
      const r = await fetch(`${base}/healthz`);
      return r.ok;
    }, { timeoutMs: 60_000, intervalMs: 250 });
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    base,
    url: `${base}/?folder=${encodeURIComponent(folder)}`,
    stop,
    output: () => output,
  };
}

/**
 * The test Hugging Face Hub (engine/test/hub-serve.ts, compiled by `tsc -b` to
 * out/engine/test/hub-serve.js) as a child process on 127.0.0.1, serving `repos`
 * (Hub id -> 'bundled:tiny-code-b' | 'bundled:tiny-code-a' | 'variants').
 * Returns { url, requests(), stop() }; requests() is the Hub's request log.
 */
export async function startTestHub(repos) {
  const script = path.join(REPO_ROOT, 'out', 'engine', 'test', 'hub-serve.js');
  if (!fs.existsSync(script)) throw new Error(`${script} not found: run \`npx tsc -b\` (npm run test:e2e builds it)`);
  const args = [script, '--serve'];
  for (const [id, kind] of Object.entries(repos)) args.push('--repo', `${id}=${kind}`);
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let buf = '';
  const waiting = new Map();
  let next = 1;
  let onUrl;
  const urlP = new Promise((resolve, reject) => {
    onUrl = resolve;
    child.once('exit', (code) => reject(new Error(`test Hub exited with ${code}: ${stderr}`)));
  });
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (m.url) onUrl(m.url);
      else { waiting.get(m.id)?.(m); waiting.delete(m.id); }
    }
  });
  const kill = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', kill);
  let url;
  try {
    url = await Promise.race([urlP, sleep(60_000).then(() => { throw new Error(`test Hub did not start in 60 s: ${stderr}`); })]);
  } catch (e) {
    kill();
    throw e;
  }
  return {
    url,
    requests: () => new Promise((resolve) => {
      const id = next++;
      waiting.set(id, (m) => resolve(m.requests));
      child.stdin.write(JSON.stringify({ id, cmd: 'requests' }) + '\n');
    }),
    stop: async () => {
      process.off('exit', kill);
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.stdin.end(); // the Hub closes and exits when its stdin closes
      await Promise.race([gone, sleep(5_000)]);
      kill();
    },
  };
}

/** Extension-host and bytefill output-channel logs of a profile, for failure reports. */
export function collectLogs(userDataDir, maxChars = 6000) {
  const out = [];
  const walk = (dir) => {
    let ents = [];
    try { ents = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of ents) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/exthost|bytefill|remoteagent/i.test(p) && e.name.endsWith('.log')) {
        const txt = fs.readFileSync(p, 'utf8');
        if (txt.trim()) out.push(`--- ${path.relative(userDataDir, p)}\n${txt.slice(-maxChars)}`);
      }
    }
  };
  walk(path.join(userDataDir, 'logs'));
  return out.join('\n');
}

// ---------------------------------------------------------------- browser-side helpers

/** Installed before any page script: records every distinct text of bytefill's status bar item. */
export function statusRecorderScript() {
  const read = () => {
    const items = [...document.querySelectorAll('.statusbar-item')];
    const hits = [];
    for (const it of items) {
      const text = (it.textContent || '').replace(/\s+/g, ' ').trim();
      const aria = it.getAttribute('aria-label') || it.querySelector('[aria-label]')?.getAttribute('aria-label') || '';
      const id = it.id || '';
      if (/bytefill/i.test(text + ' ' + aria + ' ' + id)) {
        const icons = [...it.querySelectorAll('.codicon')].map((c) => c.className).join(' ');
        hits.push({ text, aria, id, icons });
      }
    }
    return hits;
  };
  window.__bytefillStatus = [];
  window.__bytefillReadStatus = read;
  let last = '';
  const record = () => {
    const hits = read();
    const key = JSON.stringify(hits);
    if (key !== last) {
      last = key;
      window.__bytefillStatus.push({ t: Date.now(), hits });
    }
  };
  // Every DOM change is seen (a busy machine delays timers, and a sampler can miss a short state
  // or not yet have recorded the latest one); the interval is a fallback only.
  new MutationObserver(record).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  setInterval(record, 50);
}

/** Text of inline-suggestion ghost text in the focused editor: same-line part + extra lines. */
export function readGhostText() {
  const editor = document.querySelector('.editor-instance .monaco-editor.focused') ||
    document.querySelector('.editor-instance .monaco-editor');
  if (!editor) return null;
  const sel = '.ghost-text-decoration, .ghost-text-decoration-preview';
  const spans = [...editor.querySelectorAll(sel)].filter((e) => !e.parentElement?.closest(sel));
  const nb = (s) => (s || '').replace(/\u00a0/g, ' ');
  const inline = spans.map((e) => nb(e.textContent)).join('');
  // further lines live in a view zone below the cursor line: VS Code 1.100 renders
  // `.view-zones .suggest-preview-text .view-line > span > span.ghost-text`
  // (older versions: `.ghost-text .view-line`)
  const lines = new Set([
    ...editor.querySelectorAll('.view-zones .suggest-preview-text .view-line, .view-zones .ghost-text .view-line'),
    ...[...editor.querySelectorAll('.view-zones .view-line .ghost-text')].map((e) => e.closest('.view-line')),
  ]);
  const extra = [...lines]
    .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
    .map((l) => nb(l.textContent));
  if (!inline && extra.length === 0) return null;
  return { inline, extra, text: [inline, ...extra].join('\n') };
}
