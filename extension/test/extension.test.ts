// Unit tests of the extension's pure parts and of the manifest (package.json) they rely on.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import {
  SETTING_KEYS,
  documentSelectorFor,
  expandPath,
  needsClientRestart,
  readRawSettings,
  settingsToServerConfig,
} from '../src/config';
import { RestartPolicy } from '../src/restartPolicy';
import { CURATED_MODELS, buildPickItems, formatDownload, hubIdError } from '../src/modelPicker';
import { formatReport, formatStatus, latencyHistogram } from '../src/statusText';
import { ACCEPT_COMMAND, DEFAULT_CONFIG, ENGINE_ERROR_CODES, engineErrorOf, StatusResult } from '../../language-server/src/index';
import { presentEngineError } from '../src/errorText';
import { Snooze, formatRemaining } from '../src/snooze';
import { statusMenuEntries, toggleLanguage } from '../src/statusMenu';
import { symbolsBefore } from '../src/symbols';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const props: Record<string, { type: string; default: unknown; enum?: string[]; markdownDescription?: string; description?: string }> =
  pkg.contributes.configuration.properties;

test('settingsToServerConfig: defaults equal the manifest defaults', () => {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) raw[k.replace(/^bytefill\./, '')] = v.default;
  const { config, warnings } = settingsToServerConfig(raw);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, DEFAULT_CONFIG);
});

test('every setting the extension reads is contributed, typed, described; and vice versa', () => {
  const contributed = Object.keys(props).map((k) => k.replace(/^bytefill\./, '')).sort();
  assert.deepEqual([...SETTING_KEYS].sort(), contributed);
  for (const [k, v] of Object.entries(props)) {
    assert.ok(v.type, `${k} has a type`);
    assert.ok(v.markdownDescription || v.description, `${k} has a description`);
    assert.ok('default' in v, `${k} has a default`);
    if (v.enum) assert.ok(v.enum.includes(v.default as string), `${k} default is in its enum`);
  }
  assert.deepEqual(props['bytefill.mode'].enum, ['byte', 'heal', 'token']);
  assert.equal(props['bytefill.mode'].default, 'byte');
  assert.deepEqual(props['bytefill.device'].enum, ['auto', 'cpu', 'webgpu', 'cuda']);
  assert.equal(props['bytefill.uscd.enabled'].default, false);
});

test('every command the extension registers is contributed', () => {
  const src = fs.readFileSync(path.join(ROOT, 'extension', 'src', 'extension.ts'), 'utf8');
  const registered = [...src.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]).sort();
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual(registered, contributed);
  for (const c of ['bytefill.enable', 'bytefill.disable', 'bytefill.selectModelFolder', 'bytefill.showStatus', 'bytefill.showLogs', 'bytefill.triggerCompletion']) {
    assert.ok(contributed.includes(c), c);
  }
  assert.ok(registered.includes(ACCEPT_COMMAND), 'the command the server puts on inline items is registered');
  assert.equal(pkg.main, './dist/extension.js');
  assert.ok(pkg.activationEvents.includes('onStartupFinished'));
});

test('settingsToServerConfig validates and maps', () => {
  const { config, warnings } = settingsToServerConfig(
    { models: ['~/models/a', 'rel/dir/b', '${workspaceFolder}/c'], mode: 'heal', 'uscd.enabled': true, 'uscd.alpha': 0.5, maxTokens: 5000, ensemble: 'product', weights: [1, 1, 2] },
    { workspaceFolder: '/ws', homeDir: '/home/u' },
  );
  assert.deepEqual(config.models, ['/home/u/models/a', '/ws/rel/dir/b', '/ws/c']);
  assert.equal(config.mode, 'heal');
  assert.deepEqual(config.uscd, { enabled: true, alpha: 0.5, threshold: DEFAULT_CONFIG.uscd.threshold });
  assert.equal(config.maxTokens, DEFAULT_CONFIG.maxTokens);
  assert.equal(config.ensemble, 'product');
  assert.deepEqual(config.weights, [1, 1, 2]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /maxTokens/);
  // Relative model path with no workspace folder: warned, kept.
  const r = settingsToServerConfig({ models: ['rel'] }, { homeDir: '/h' });
  assert.equal(r.warnings.length, 1);
  assert.equal(expandPath('~', { homeDir: '/h' }), '/h');
});

test('readRawSettings reads every key through the getter', () => {
  const seen: string[] = [];
  const raw = readRawSettings((k) => {
    seen.push(k);
    return k === 'mode' ? 'token' : undefined;
  });
  assert.deepEqual(raw, { mode: 'token' });
  assert.equal(seen.length, SETTING_KEYS.length);
});

test('documentSelectorFor and needsClientRestart', () => {
  assert.deepEqual(documentSelectorFor(['*'])[0], { scheme: 'file' });
  assert.deepEqual(documentSelectorFor(['python']), [
    { scheme: 'file', language: 'python' },
    { scheme: 'untitled', language: 'python' },
  ]);
  assert.equal(needsClientRestart(DEFAULT_CONFIG, { ...DEFAULT_CONFIG, mode: 'token' }), false);
  assert.equal(needsClientRestart(DEFAULT_CONFIG, { ...DEFAULT_CONFIG, languages: ['python'] }), true);
});

test('RestartPolicy restarts at most N times per window', () => {
  const p = new RestartPolicy(3, 1000);
  assert.equal(p.shouldRestart(0), true);
  assert.equal(p.shouldRestart(10), true);
  assert.equal(p.shouldRestart(20), true);
  assert.equal(p.shouldRestart(30), false);
  assert.equal(p.shouldRestart(1500), true, 'old crashes age out');
});

test('formatStatus summarises a status result', () => {
  const s: StatusResult = {
    state: 'error',
    error: 'Could not load /m/x: missing config.json',
    errorCode: 'MODEL_NOT_FOUND',
    models: [],
    configuredModels: ['/m/x'],
    device: null,
    ensemble: null,
    mode: 'byte',
    lastLatencyMs: null,
    loadMs: null,
    requests: { total: 3, completed: 1, cached: 1, cancelled: 1, empty: 0, errors: 0, notReady: 0 },
    cacheSize: 1,
    serverVersion: '0.1.0',
  };
  const t = formatStatus(s);
  assert.match(t, /error/);
  assert.match(t, /\/m\/x/);
  assert.match(t, /Requests: 3/);
});

test('the extension bundle source never touches the engine; the server never imports vscode', () => {
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const f of walk(path.join(ROOT, 'extension', 'src'))) {
    assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /engine\/src|onnxruntime/, f);
  }
  for (const f of walk(path.join(ROOT, 'language-server', 'src'))) {
    assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /from 'vscode'|require\('vscode'\)|vscode-languageclient/, f);
  }
});

test('an engine failure is shown by its code: each code offers the actions that can fix it', () => {
  const shown = (code: number) => {
    const err = engineErrorOf({ code, message: 'm', data: { name: 'ignored', models: ['/m/a'] } });
    return { name: err.name, ...presentEngineError(err.name, err.message, err.models) };
  };
  const device = shown(ENGINE_ERROR_CODES.PROVIDER_UNAVAILABLE);
  assert.equal(device.name, 'PROVIDER_UNAVAILABLE');
  assert.deepEqual(device.actions, ['Use CPU', 'Show Logs']);
  const missing = shown(ENGINE_ERROR_CODES.MODEL_NOT_FOUND);
  assert.deepEqual(missing.actions, ['Choose model folder', 'Show Logs']);
  assert.match(missing.text, /\/m\/a/);
  // Not one of ours (e.g. a JSON-RPC InternalError): INTERNAL.
  assert.equal(shown(-32603).name, 'INTERNAL');
});

test('Hub ids in bytefill.models are kept as ids, unless a workspace folder of that name exists', () => {
  const none = { workspaceFolder: '/ws', homeDir: '/h', exists: () => false };
  const r = settingsToServerConfig({ models: ['onnx-community/Qwen2.5-Coder-1.5B', 'org/name@v2', './org/name'], modelVariant: 'q4' }, none);
  assert.deepEqual(r.config.models, ['onnx-community/Qwen2.5-Coder-1.5B', 'org/name@v2', '/ws/org/name']);
  assert.equal(r.config.modelVariant, 'q4');
  assert.deepEqual(r.warnings, []);
  const folder = settingsToServerConfig({ models: ['org/name'] }, { workspaceFolder: '/ws', exists: (p) => p === '/ws/org/name' });
  assert.deepEqual(folder.config.models, ['/ws/org/name']);
  // No workspace: an id is not a relative path, so no warning.
  assert.deepEqual(settingsToServerConfig({ models: ['org/name'] }, { exists: () => false }).warnings, []);
});

test('model picker: curated models with the auto variant size, cached models, browse and enter', () => {
  const cached = [
    { repo: 'someone/Other-Coder', commit: 'c'.repeat(40), refs: ['main'], size: 5e8, variants: [{ variant: 'int8', bytes: 4.9e8 }] },
    { repo: 'someone/broken', commit: 'd'.repeat(40), refs: [], size: 10, variants: [] },
  ];
  const loading = buildPickItems(undefined, cached, []);
  assert.ok(loading.filter((i) => i.action.kind === 'hub').slice(0, CURATED_MODELS.length).every((i) => i.description === 'size…'));
  const sizes = [
    { repo: CURATED_MODELS[0].id, variant: 'q4', bytes: 862_000_000 },
    { repo: CURATED_MODELS[1].id, error: 'onnx-community/x: not found on the Hub (404)' },
  ];
  const items = buildPickItems(sizes, cached, ['someone/Other-Coder']);
  const byId = (id: string) => items.find((i) => i.action.kind === 'hub' && i.action.id === id)!;
  assert.equal(byId(CURATED_MODELS[0].id).description, 'q4: 862 MB download');
  assert.match(byId(CURATED_MODELS[1].id).description!, /^size unknown \(.*404\)\)$/);
  assert.equal(byId('someone/Other-Coder').description, 'int8 490 MB · in use');
  assert.equal(items.find((i) => i.label === 'someone/broken'), undefined, 'incomplete downloads are not offered');
  assert.deepEqual(items.slice(-2).map((i) => i.action.kind), ['browse', 'enter']);
});

test('hubIdError accepts org/name[@rev] and explains anything else', () => {
  assert.equal(hubIdError('onnx-community/Qwen2.5-Coder-1.5B'), undefined);
  assert.equal(hubIdError('org/name@refs/pr/1'), undefined);
  assert.match(hubIdError('')!, /Enter a Hub id/);
  assert.match(hubIdError('just-a-name')!, /org\/name/);
  assert.match(hubIdError('a/b/c')!, /org\/name/);
});

test('download notification text: bytes, total, percent, speed, file', () => {
  const d = formatDownload({ repo: 'o/n', file: 'onnx/model_q4.onnx', bytes: 450_000_000, total: 900_000_000, bytesPerSecond: 25_000_000 });
  assert.equal(d.percent, 50);
  assert.equal(d.message, '450 MB of 900 MB (50%, 25 MB/s): onnx/model_q4.onnx');
});

test('Snooze: active until its time, resumable, remaining time formatted', () => {
  const s = new Snooze();
  assert.equal(s.active(1000), false);
  s.snooze(5 * 60_000, 1000);
  assert.equal(s.active(1000 + 5 * 60_000 - 1), true);
  assert.equal(s.active(1000 + 5 * 60_000), false);
  assert.equal(formatRemaining(s.remaining(1000)), '5 min');
  assert.equal(formatRemaining(30_000), '30 s');
  s.resume();
  assert.equal(s.active(1001), false);
  assert.equal(s.remaining(1001), 0);
});

test('status menu: snooze 5/30, resume only when snoozed, disable/enable for the current language, model, status, logs', () => {
  const a = statusMenuEntries({ snoozed: false, languageId: 'python', languageDisabled: false }).map((e) => e.action);
  assert.deepEqual(a, ['snooze5', 'snooze30', 'disableLanguage', 'chooseModel', 'showStatus', 'showLogs']);
  const b = statusMenuEntries({ snoozed: true, languageId: 'python', languageDisabled: true }).map((e) => e.action);
  assert.deepEqual(b, ['resume', 'snooze5', 'snooze30', 'enableLanguage', 'chooseModel', 'showStatus', 'showLogs']);
  assert.ok(!statusMenuEntries({ snoozed: false, languageId: undefined, languageDisabled: false }).some((e) => e.action === 'disableLanguage'));
  assert.deepEqual(toggleLanguage(['go'], 'python', true), ['go', 'python']);
  assert.deepEqual(toggleLanguage(['go', 'python'], 'python', false), ['go']);
  assert.deepEqual(toggleLanguage(['python'], 'python', true), ['python'], 'no duplicates');
});

test('formatReport: usage per language, speculation, a latency histogram and the stages of the last request', () => {
  const lat = { count: 4, p50: 20, p95: 900, boundsMs: [10, 30, 100], histogram: [1, 2, 0, 1] };
  const lang = { requests: 5, shown: 4, acceptedFull: 1, acceptedPartial: 1, charsAccepted: 12, cacheHits: 1, speculationHits: 1, latency: lat };
  const s = {
    state: 'ready', error: null, errorCode: null, models: [], configuredModels: [], device: 'cpu', ensemble: null, mode: 'byte',
    lastLatencyMs: 120, loadMs: 300, requests: { total: 5, completed: 3, cached: 1, cancelled: 1, empty: 0, errors: 0, notReady: 0 },
    cacheSize: 2, serverVersion: '0.1.0',
    stats: { total: lang, byLanguage: { python: lang }, speculation: { started: 3, finished: 2, cancelled: 1, empty: 0, used: 1 } },
    lastRequest: { languageId: 'python', debounceMs: 75, queueMs: 0, promptMs: 1, prefillMs: 10, coversMs: 20, decodeMs: 80, postprocessMs: 1, totalMs: 190, candidates: 1 },
    context: { enabled: true, chunks: 3, bytes: 2048, generation: 5, paths: ['src/a.py', 'src/b.py', 'src/c.py'], last: { promptTokens: 300, contextTokens: 200, contextChunks: 2, cachedTokens: 290, paths: ['src/a.py', 'src/b.py'] } },
  } as StatusResult;
  const t = formatReport(s);
  assert.match(t, /Context ring: 3 chunks, 2\.0 KiB \(src\/a\.py, src\/b\.py, src\/c\.py\); last prompt: 200 of 300 tokens from 2 chunks \(src\/a\.py, src\/b\.py\), 290 tokens reused/);
  assert.match(t, /4 shown, 1 accepted \+ 1 partly \(50%\), 12 characters accepted/);
  assert.match(t, /p50 20 ms, p95 900 ms/);
  assert.match(t, /python:/);
  assert.match(t, /1 used \(50% of the ready ones\)/);
  assert.match(t, /covers 20 ms, decode 80 ms, post-process 1 ms/);
  const h = latencyHistogram(lat, 10);
  assert.equal(h.length, 4);
  assert.match(h[1], /10-30 ms \| #{10} 2$/);
  assert.match(h[3], /> 100 ms \| #{5} 1$/);
});

test('symbolsBefore: the last identifiers before the cursor, not the one being typed', () => {
  assert.deepEqual(symbolsBefore('    return helpers.pol', 22), [
    { word: 'return', character: 4 },
    { word: 'helpers', character: 11 },
  ]);
  assert.deepEqual(symbolsBefore('a(b, c, d, e', 12).map((s) => s.word), ['b', 'c', 'd']);
  assert.deepEqual(symbolsBefore('x = 1', 0), []);
});
