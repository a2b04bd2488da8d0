// The context ring: its bounds and near-duplicate eviction (unit), and, over a real LSP (stdio)
// connection with the real engine and the bundled model, what reaches the prompt and whether the
// context stays a cached prefix across keystrokes.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ContextRing, EditTracker, chunkAround, jaccard } from '../src/contextRing';
import { ContextChunkNotification } from '../src/protocol';
import { Client, startClient } from './lspClient';

const LIMITS = { maxChunks: 4, maxBytes: 1000, chunkLines: 24, similarity: 0.5 };

function code(name: string, lines = 6): string {
  return Array.from({ length: lines }, (_, i) => `def ${name}_${i}(x):\n    return x + ${i}`).join('\n') + '\n';
}

describe('ContextRing (unit)', () => {
  test('a near-duplicate replaces the older chunk and becomes the newest', () => {
    const r = new ContextRing(LIMITS);
    r.add({ uri: 'file:///a.py', text: code('alpha'), source: 'open' });
    r.add({ uri: 'file:///b.py', text: code('beta'), source: 'open' });
    // alpha with one line changed: most lines are the same.
    r.add({ uri: 'file:///a.py', text: code('alpha').replace('x + 0', 'x + 100'), source: 'edit' });
    assert.deepEqual(r.all().map((c) => [c.uri, c.source]), [['file:///b.py', 'open'], ['file:///a.py', 'edit']]);
    assert.ok(jaccard(r.all()[0].lines, r.all()[1].lines) < LIMITS.similarity);
  });

  test('an exact repeat changes nothing (the order, and so the cached prompt, stays)', () => {
    const r = new ContextRing(LIMITS);
    r.add({ uri: 'file:///a.py', text: code('alpha'), source: 'open' });
    r.add({ uri: 'file:///b.py', text: code('beta'), source: 'open' });
    const gen = r.generation;
    assert.equal(r.add({ uri: 'file:///a.py', text: code('alpha'), source: 'copy' }), false);
    assert.equal(r.generation, gen);
    assert.deepEqual(r.all().map((c) => c.uri), ['file:///a.py', 'file:///b.py']);
  });

  test('the byte and chunk bounds hold: the oldest chunks leave first', () => {
    const r = new ContextRing(LIMITS);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for (const n of names) r.add({ uri: `file:///${n}.py`, text: code(`fn_${n}`, 5), source: 'open' });
    assert.ok(r.totalBytes <= LIMITS.maxBytes, `${r.totalBytes} bytes`);
    assert.ok(r.size <= LIMITS.maxChunks);
    assert.equal(r.totalBytes, r.all().reduce((s, c) => s + Buffer.byteLength(c.text), 0));
    assert.equal(r.all()[r.size - 1].uri, 'file:///h.py', 'the newest stays');
    // A chunk larger than the whole byte budget is cut to it at a line end.
    r.add({ uri: 'file:///big.py', text: code('big', 200), source: 'copy' });
    assert.ok(r.totalBytes <= LIMITS.maxBytes);
    assert.ok(r.all()[r.size - 1].text.endsWith('\n'));
  });

  test('chunks of the current file that overlap the prompt window are left out', () => {
    const r = new ContextRing(LIMITS);
    r.add({ uri: 'file:///a.py', text: code('near'), source: 'edit', startLine: 10, endLine: 22 });
    r.add({ uri: 'file:///a.py', text: code('far'), source: 'edit', startLine: 200, endLine: 212 });
    r.add({ uri: 'file:///b.py', text: code('other'), source: 'open' });
    assert.deepEqual(r.forRequest('file:///a.py', 0, 50).map((c) => c.text), [code('far'), code('other')]);
  });

  test('chunks of another language family are left out (TypeScript and JavaScript are one family)', () => {
    const r = new ContextRing(LIMITS);
    r.add({ uri: 'file:///a.py', text: code('py'), source: 'open', languageId: 'python' });
    r.add({ uri: 'file:///b.js', text: code('js'), source: 'open', languageId: 'javascript' });
    r.add({ uri: 'file:///c.txt', text: code('unknown'), source: 'copy' });
    assert.deepEqual(r.forRequest('file:///m.ts', 0, 10, 'typescript').map((c) => c.uri), ['file:///b.js', 'file:///c.txt']);
    assert.deepEqual(r.forRequest('file:///m.py', 0, 10, 'python').map((c) => c.uri), ['file:///a.py', 'file:///c.txt']);
  });

  test('edits enter the ring only when the editing moves away', () => {
    const t = new EditTracker();
    assert.equal(t.edited('file:///a.py', 10, 24), null);
    assert.equal(t.edited('file:///a.py', 12, 24), null, 'typing nearby');
    assert.deepEqual(t.edited('file:///a.py', 80, 24), { uri: 'file:///a.py', line: 12 });
    assert.deepEqual(t.edited('file:///b.py', 0, 24), { uri: 'file:///a.py', line: 80 });
    assert.deepEqual(chunkAround('a\nb\nc\nd\ne', 4, 2), { text: 'd\ne', startLine: 3, endLine: 5 });
  });
});

const MAIN = 'file:///work/proj/main.py';
const HELPERS = 'file:///work/proj/geometry.py';
const HELPERS_TEXT = 'def polygon_perimeter(points):\n    """Sum of the side lengths of a closed polygon."""\n    total = 0.0\n    for a, b in zip(points, points[1:] + points[:1]):\n        total += ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5\n    return total\n';
const MAIN_TEXT = 'import geometry\n\n\ndef fence_length(corners):\n    return geometry.pol';

function endOf(text: string): { line: number; character: number } {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

/** The last `context (...)` debug line's JSON text. */
function lastContext(c: Client): string | null {
  for (let i = c.logs.length - 1; i >= 0; i--) {
    const m = /\] #\d+ context \(\d+ tokens, \d+ chunks\): (.*)$/.exec(c.logs[i]);
    if (m) return JSON.parse(m[1]) as string;
  }
  return null;
}

describe('context ring over stdio (bundled model)', () => {
  let c: Client;
  const settings = { debounceMs: 0, logLevel: 'debug', speculate: false, context: { enabled: true } };
  before(async () => {
    c = await startClient({ bytefill: settings });
    await c.waitState(['ready', 'error'], 60000);
  });
  after(async () => {
    await c?.close();
  });

  test('a chunk of another opened file reaches the prompt in the repository format', async () => {
    await c.open(HELPERS, 'python', HELPERS_TEXT);
    await c.open(MAIN, 'python', MAIN_TEXT);
    const pos = endOf(MAIN_TEXT);
    await c.complete(MAIN, pos.line, pos.character);
    const ctx = lastContext(c);
    assert.ok(ctx, 'a context line was logged');
    // The bundled models' format: <file_sep>path\ncode ... then <file_sep> and the current file's path.
    assert.ok(ctx!.startsWith('<file_sep>proj/geometry.py\ndef polygon_perimeter(points):'), ctx!.slice(0, 120));
    assert.ok(ctx!.endsWith('<file_sep>proj/main.py\n'), ctx!.slice(-80));
    assert.ok(!ctx!.includes('def fence_length'), 'the current file is not repeated as context');
    const s = await c.status();
    assert.equal(s.state, 'ready');
    assert.ok(s.context!.last!.contextTokens > 0 && s.context!.last!.contextChunks === 1, JSON.stringify(s.context));
    assert.deepEqual(s.context!.last!.paths, ['proj/geometry.py']);
  });

  test('an edited chunk of another file replaces its opened version (near-duplicate) and comes last', async () => {
    const before = (await c.status()).context!;
    // Edit geometry.py (line 2), then main.py: the edit location moved away, so the chunk around it enters the ring.
    await c.change(HELPERS, 2, [{ range: { start: { line: 2, character: 0 }, end: { line: 2, character: 15 } }, text: '    total = 0' }]);
    await c.change(MAIN, 2, [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: '# fences\n' }]);
    const after = (await c.status()).context!;
    assert.equal(after.chunks, before.chunks, 'the edited version replaced the opened one');
    assert.ok(after.generation > before.generation);
    const text = MAIN_TEXT.replace('import geometry\n', 'import geometry\n# fences\n');
    const pos = endOf(text);
    await c.complete(MAIN, pos.line, pos.character);
    const ctx = lastContext(c)!;
    assert.ok(ctx.includes('    total = 0\n'), 'the edited text is in the prompt');
    assert.ok(!ctx.includes('total = 0.0'), 'the old version is gone');
  });

  test('a definition sent by the editor is placed as a chunk, after the older ones', async () => {
    await c.conn.sendNotification(ContextChunkNotification, {
      uri: 'file:///work/proj/units.py',
      text: 'METERS_PER_FOOT = 0.3048\n',
      source: 'definition',
      startLine: 0,
      endLine: 1,
    });
    // Not the shown suggestion typed through (that would be answered from the completion cache).
    const text = 'import geometry\n# fences\n\n\ndef fence_length(corners):\n    return 2 * geometry.pol';
    await c.change(MAIN, 3, [{ text }]);
    const pos = endOf(text);
    await c.complete(MAIN, pos.line, pos.character);
    const ctx = lastContext(c)!;
    const geo = ctx.indexOf('<file_sep>proj/geometry.py');
    const units = ctx.indexOf('<file_sep>proj/units.py\nMETERS_PER_FOOT = 0.3048\n');
    assert.ok(geo >= 0 && units > geo, ctx);
  });

  test('the context is a cached prefix across two keystrokes (KV cache reuse)', async () => {
    const text = 'import geometry\n# fence posts\n\n\ndef fence_length(corners):\n    return 3 * geometry.pol';
    await c.change(MAIN, 4, [{ text }]);
    const pos = endOf(text);
    const before = await c.status();
    await c.complete(MAIN, pos.line, pos.character);
    const first = await c.status();
    assert.equal(first.requests.completed + first.requests.empty, before.requests.completed + before.requests.empty + 1, 'the engine ran');
    // A keystroke that is not the suggestion's next character: the engine runs again.
    const typed = text + 'Q';
    await c.change(MAIN, 5, [{ range: { start: pos, end: pos }, text: 'Q' }]);
    await c.complete(MAIN, pos.line, pos.character + 1);
    const second = await c.status();
    assert.equal(second.requests.completed + second.requests.empty, first.requests.completed + first.requests.empty + 1, 'the engine ran');
    assert.equal(second.context!.generation, first.context!.generation, 'typing in place does not change the ring');
    const last = second.context!.last!;
    assert.ok(last.contextTokens > 0);
    assert.ok(last.cachedTokens >= last.contextTokens, c.logs.filter((l) => /#\d+ context|reused|prefill/.test(l)).slice(-6).join('\n') + `reused ${last.cachedTokens} of ${last.promptTokens} tokens; context ${last.contextTokens}`);
    assert.ok(typed.endsWith('Q'));
  });

  test('the byte bound holds over the connection', async () => {
    await c.configure({ ...settings, context: { enabled: true, maxBytes: 600 } });
    for (let i = 0; i < 6; i++) await c.open(`file:///work/proj/m${i}.py`, 'python', code(`mod${i}`, 4));
    const s = (await c.status()).context!;
    assert.ok(s.bytes <= 600 && s.bytes > 0, JSON.stringify(s));
    await c.configure({ ...settings, context: { enabled: false } });
    const off = (await c.status()).context!;
    assert.equal(off.chunks, 0, 'turning the context off empties the ring');
  });
});
