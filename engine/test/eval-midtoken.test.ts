import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { defaultMidtokenPath, loadMidtoken } from '../src/eval/midtoken';

const have = fs.existsSync(defaultMidtokenPath());

test('mid-token suite loads as EvalCase[] with consistent fields', { skip: !have && 'suite not built' }, () => {
  const cases = loadMidtoken();
  assert.ok(cases.length >= 250, String(cases.length));
  const langs = new Set(cases.map((c) => c.lang));
  assert.ok(langs.has('python') && (langs.has('javascript') || langs.has('typescript')));
  assert.equal(new Set(cases.map((c) => c.id)).size, cases.length);
  for (const c of cases) {
    assert.equal(c.kind, 'midtoken');
    assert.ok(c.reference.length >= 2 && !c.reference.includes('\n') && c.reference === c.reference.trimEnd(), c.id);
    assert.ok(c.prefix.length >= 100 && c.prefix.length <= 1500, c.id);
    assert.ok(c.suffix === '' || c.suffix.startsWith('\n'), c.id);
    if (c.tag === 'identifier') {
      assert.ok(c.restOfIdentifier && c.restOfIdentifier.length >= 2 && c.reference.startsWith(c.restOfIdentifier), c.id);
      assert.match(c.prefix, /[A-Za-z0-9_$]{2}$/, c.id);
    } else {
      assert.equal(c.tag, 'after-space');
      assert.equal(c.restOfIdentifier, undefined);
      assert.match(c.prefix, /\S $/, c.id);
    }
  }
  assert.equal(loadMidtoken(undefined, 5).length, 5);
});
