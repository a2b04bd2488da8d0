// The cross-file suite builder: deterministic, the answer's name only in file A's chunks.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCrossfileSuite, parameterNames } from '../src/eval/crossfile-build';
import { defaultCrossfilePath } from '../src/eval/crossfile';

function build(seed: number, n = 20): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-crossfile-'));
  try {
    buildCrossfileSuite({ out: path.join(dir, 'crossfile.jsonl'), n, seed });
    return fs.readFileSync(path.join(dir, 'crossfile.jsonl'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('parameterNames: top-level names without annotations, defaults or star arguments', () => {
  assert.deepEqual(parameterNames('numbers: List[float], threshold: float'), ['numbers', 'threshold']);
  assert.deepEqual(parameterNames('d: Dict[str, int], k=3, *args, **kw'), ['d', 'k']);
});

test('the same seed gives the same suite; the committed suite is the default build', () => {
  assert.equal(build(20261129, 120), fs.readFileSync(defaultCrossfilePath(), 'utf8'));
  assert.notEqual(build(1), build(20261129, 20));
});

test('every case: the name is not in file B, the target is one of the chunks, both cursor kinds', () => {
  const cases = build(20261129, 40).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(cases.length, 40);
  assert.deepEqual(new Set(cases.map((c) => c.cursor)), new Set(['after-dot', 'mid-name']));
  for (const c of cases) {
    const typed = c.cursor === 'mid-name' ? 3 : 0;
    assert.ok(!c.prefix.includes(c.name), c.id);
    assert.equal(c.prefix.slice(c.prefix.length - typed) + c.reference.slice(0, c.name.length - typed), c.name);
    assert.equal(c.snippets.filter((s: { text: string }) => s.text.startsWith(`def ${c.name}(`)).length, 1, c.id);
  }
});
