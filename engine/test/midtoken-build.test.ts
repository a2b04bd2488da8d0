import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildMidtokenSuite } from '../src/eval/midtoken-build';
import { codeMask } from '../src/eval/source-files';
import { findRepoRoot } from '../src/eval/paths';

const repo = findRepoRoot(__dirname);

function build(seed: number): { text: string; readme: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-midtoken-'));
  try {
    buildMidtokenSuite({ repo, out: path.join(dir, 'midtoken.jsonl'), n: 12, seed });
    return { text: fs.readFileSync(path.join(dir, 'midtoken.jsonl'), 'utf8'), readme: fs.readFileSync(path.join(dir, 'README.md'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('codeMask: Python comments and strings (single, triple) are not code', () => {
  const src = 'x = 1  # note\ns = "a#b"\nd = """doc\nmore"""\ny';
  const mask = codeMask(src, 'python');
  const code = [...src].filter((_, i) => mask[i] === 1).join('');
  assert.equal(code, 'x = 1  \ns = \nd = \ny');
});

test('codeMask: JavaScript line/block comments and template strings are not code', () => {
  const src = 'a // c\nb /* c */ d `t${x}` e';
  const mask = codeMask(src, 'javascript');
  const code = [...src].filter((_, i) => mask[i] === 1).join('');
  assert.equal(code, 'a \nb  d  e');
});

test('the mid-token suite is the same for the same seed and differs for another', () => {
  const a = build(7);
  assert.equal(build(7).text, a.text);
  assert.notEqual(build(8).text, a.text);
});

test('every mid-token case is a cursor inside the untyped rest of an identifier or after a space', () => {
  const cases = build(11)
    .text.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { cursor: string; prefix: string; reference: string; restOfIdentifier?: string });
  assert.equal(cases.length, 12);
  for (const c of cases) {
    if (c.cursor === 'identifier') {
      assert.ok(c.restOfIdentifier && c.reference.startsWith(c.restOfIdentifier), JSON.stringify(c.reference));
      assert.match(c.prefix, /[A-Za-z0-9_$]{2}$/);
    } else {
      assert.equal(c.cursor, 'after-space');
      assert.match(c.prefix, /[^\s] $/);
    }
  }
});
