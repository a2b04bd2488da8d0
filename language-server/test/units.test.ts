// Unit tests: cache (typing through a suggestion), context windows, settings, LRU.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CompletionCache } from '../src/cache';
import { languageEnabled, modelKey, normalizeConfig } from '../src/config';
import { contextWindow, looksBinary, toWellFormed } from '../src/context';
import { LruMap } from '../src/lru';
import { sleep } from '../src/debounce';
import { DEFAULT_CONFIG } from '../src/protocol';
import { Speculator } from '../src/speculation';
import { AcceptanceTracker } from '../src/acceptance';
import { Stats } from '../src/stats';

test('LruMap evicts the least recently used entry', () => {
  const m = new LruMap<string, number>(2);
  m.set('a', 1);
  m.set('b', 2);
  m.get('a');
  m.set('c', 3);
  assert.equal(m.get('b'), undefined);
  assert.equal(m.get('a'), 1);
  assert.equal(m.size, 2);
});

test('cache: typing through a suggestion returns the remainder', () => {
  const c = new CompletionCache(8);
  const text = 'for item in items:\n    conti\nprint(1)\n' + '#'.repeat(300) + '\n';
  const at = text.indexOf('\nprint');
  c.store('u', text, at, 'nue', false);
  assert.equal(c.lookup({ uri: 'u', text, offset: at })?.completion, 'nue');
  const typed = text.slice(0, at) + 'n' + text.slice(at);
  assert.equal(c.lookup({ uri: 'u', text: typed, offset: at + 1 })?.completion, 'ue');
  const wrong = text.slice(0, at) + 'x' + text.slice(at);
  assert.equal(c.lookup({ uri: 'u', text: wrong, offset: at + 1 }), undefined);
  const farEdit = text.slice(0, at) + 'n' + text.slice(at) + 'more';
  assert.equal(c.lookup({ uri: 'u', text: farEdit, offset: at + 1 })?.completion, 'ue', 'edits far after the cursor do not matter');
  const nearEdit = text.slice(0, at) + 'n' + '(' + text.slice(at);
  assert.equal(c.lookup({ uri: 'u', text: nearEdit, offset: at + 1 }), undefined, 'suffix changed near the cursor');
  assert.equal(c.lookup({ uri: 'other', text: typed, offset: at + 1 }), undefined);
  c.forget('u');
  assert.equal(c.size, 0);
});

test('cache is bounded', () => {
  const c = new CompletionCache(16);
  for (let i = 0; i < 1000; i++) c.store('u', `x${i}`, 2, 'y', false);
  assert.equal(c.size, 16);
});

test('contextWindow caps prefix/suffix and never cuts a surrogate pair into a lone half', () => {
  const text = 'a'.repeat(10_000) + '😀' + 'b'.repeat(10_000);
  const at = 10_001; // between the two halves of the emoji
  const w = contextWindow(text, at, 6000, 2000);
  assert.ok(w.prefix.length <= 6000 && w.suffix.length <= 2000);
  assert.ok(w.prefix.endsWith('\uFFFD'));
  assert.ok(w.suffix.startsWith('\uFFFD'));
  assert.equal(toWellFormed('ok😀'), 'ok😀');
});

test('looksBinary flags NULs and control-character soup', () => {
  assert.equal(looksBinary('print(1)\n'), false);
  assert.equal(looksBinary('ab\u0000cd'), true);
  assert.equal(looksBinary('\u0001\u0002\u0003abc'), true);
});

test('normalizeConfig: defaults, nested and flat keys, bad values fall back with warnings', () => {
  assert.deepEqual(normalizeConfig(undefined).config, DEFAULT_CONFIG);
  const { config, warnings } = normalizeConfig({
    mode: 'nope',
    'uscd.enabled': true,
    uscd: { alpha: 2 },
    debounceMs: -5,
    models: ['/m/a', ' ', '/m/b'],
    weights: [1, 2],
    languages: [],
  });
  assert.equal(config.mode, 'byte');
  assert.equal(config.uscd.enabled, true);
  assert.equal(config.uscd.alpha, 2);
  assert.equal(config.debounceMs, 75);
  assert.deepEqual(config.models, ['/m/a', '/m/b']);
  assert.deepEqual(config.weights, [1, 2]);
  assert.deepEqual(config.languages, ['*']);
  assert.equal(warnings.length, 2);
  assert.equal(normalizeConfig({ weights: [1, 2, 3], models: ['/a'] }).config.weights.length, 0);
});

test('modelKey changes only for model-related settings', () => {
  const a = normalizeConfig({}).config;
  assert.equal(modelKey(a), modelKey({ ...a, mode: 'token', debounceMs: 10 }));
  assert.notEqual(modelKey(a), modelKey({ ...a, device: 'cpu' }));
  assert.equal(languageEnabled({ ...a, languages: ['python'] }, 'python'), true);
  assert.equal(languageEnabled({ ...a, languages: ['python'] }, 'go'), false);
});

test('sleep resolves false as soon as the signal aborts', async () => {
  const ac = new AbortController();
  const t = Date.now();
  const p = sleep(5000, ac.signal);
  setTimeout(() => ac.abort(), 10);
  assert.equal(await p, false);
  assert.ok(Date.now() - t < 1000);
  assert.equal(await sleep(1, new AbortController().signal), true);
});

test('normalizeConfig: modelVariant and offline, with a warning for an unknown variant; both reload the model', () => {
  const ok = normalizeConfig({ modelVariant: 'q4f16', offline: true, models: ['onnx-community/Qwen2.5-Coder-0.5B'] });
  assert.equal(ok.config.modelVariant, 'q4f16');
  assert.equal(ok.config.offline, true);
  assert.deepEqual(ok.warnings, []);
  const bad = normalizeConfig({ modelVariant: 'int3' });
  assert.equal(bad.config.modelVariant, 'auto');
  assert.match(bad.warnings[0], /^bytefill\.modelVariant: expected one of auto\|fp32\|/);
  const a = normalizeConfig({}).config;
  assert.notEqual(modelKey(a), modelKey({ ...a, modelVariant: 'fp16' }));
  assert.notEqual(modelKey(a), modelKey({ ...a, offline: true }));
});

test('cache: all candidates are kept while typing agrees with them; an entry typed to its end no longer answers', () => {
  const c = new CompletionCache(8);
  const text = 'x = fo\n';
  const at = 6;
  c.store('u', text, at, ['obar', 'rmat(1)', 'o'], false, { asked: 3 });
  const hit = c.lookup({ uri: 'u', text, offset: at })!;
  assert.deepEqual(hit.items, ['obar', 'rmat(1)', 'o']);
  assert.equal(hit.entry.asked, 3);
  const typedO = 'x = foo\n';
  assert.deepEqual(c.lookup({ uri: 'u', text: typedO, offset: at + 1 })!.items, ['bar'], '"o" typed to its end drops out');
  const typedAll = 'x = foobar\n';
  assert.equal(c.lookup({ uri: 'u', text: typedAll, offset: at + 4 }), undefined);
});

test('Speculator: a job is cancelled by any other state of its document, kept by exactly its own, and joinable', async () => {
  const got: { signal?: AbortSignal; release?: () => void } = {};
  const sp = new Speculator(
    (_t, signal) =>
      new Promise<boolean>((resolve) => {
        got.signal = signal;
        got.release = () => resolve(true);
        signal.addEventListener('abort', () => resolve(false));
      }),
  );
  const target = Speculator.accepted('u', 'python', 'ab|cd', 2, 'XY');
  assert.equal(target.text, 'abXY|cd');
  assert.equal(target.offset, 4);
  sp.start(target);
  assert.ok(sp.pendingFor('u', 'abXY|cd', 4));
  assert.equal(sp.pendingFor('u', 'abXY|cd', 3), null);
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(got.signal, 'the runner started');
  sp.documentChanged('other', () => 'zzz');
  sp.documentChanged('u', () => 'abXY|cd');
  assert.equal(got.signal!.aborted, false, 'the accepted state and other documents keep it');
  sp.documentChanged('u', () => 'abX|cd');
  assert.equal(got.signal!.aborted, true, 'another state of the document cancels it');
  assert.equal(sp.counts.cancelled, 1);
  assert.equal(sp.running, false);
  // A job that finishes is counted once and can be awaited.
  sp.start(target);
  await new Promise((r) => setTimeout(r, 30));
  const done = sp.pendingFor('u', 'abXY|cd', 4)!;
  got.release!();
  await done;
  assert.equal(sp.counts.finished, 1);
  assert.equal(sp.running, false);
  // Closing the document cancels its job; closing another does not.
  sp.start(target);
  sp.documentClosed('other');
  assert.equal(sp.running, true);
  sp.documentClosed('u');
  assert.equal(sp.running, false);
  assert.equal(sp.counts.cancelled, 2);
});

test('AcceptanceTracker: one multi-character insertion of the suggestion is an accept; typing it one by one is not', () => {
  const t = new AcceptanceTracker();
  const text = 'x = \nend';
  const id = t.shown({ uri: 'u', languageId: 'python', text, offset: 4, items: ['foo(bar)', 'baz'] });
  assert.equal(t.documentChanged('u', 'x = f\nend'), null, 'one typed character');
  assert.deepEqual(t.documentChanged('u', 'x = foo(\nend'), { kind: 'partial', languageId: 'python', chars: 3 });
  assert.deepEqual(t.documentChanged('u', 'x = foo(bar)\nend'), { kind: 'full', languageId: 'python', chars: 4 });
  assert.equal(t.didAccept(id), null, 'the same accept reported by the editor counts once');
  const id2 = t.shown({ uri: 'u', languageId: 'python', text, offset: 4, items: ['foo(bar)'] });
  assert.equal(t.documentChanged('u', 'x = q\nend'), null, 'something else typed');
  assert.deepEqual(t.didAccept(id2), { kind: 'full', languageId: 'python', chars: 8 });
});

test('Stats: percentiles and histogram of answer latencies, per language and in total', () => {
  const s = new Stats();
  for (const ms of [5, 20, 50, 200, 5000]) s.answered('python', 'engine', ms, true);
  s.answered('go', 'speculation', 1, true);
  s.accepted('python', false, 4);
  const snap = s.snapshot({ started: 1, finished: 1, cancelled: 0, empty: 0, used: 1 });
  assert.equal(snap.byLanguage.python.latency.p50, 50);
  assert.equal(snap.byLanguage.python.latency.p95, 5000);
  assert.deepEqual(snap.byLanguage.python.latency.histogram, [1, 1, 1, 1, 0, 0, 1]);
  assert.equal(snap.total.latency.count, 6);
  assert.equal(snap.total.speculationHits, 1);
  assert.equal(snap.total.acceptedPartial, 1);
  assert.equal(snap.total.charsAccepted, 4);
});
