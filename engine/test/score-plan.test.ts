// Planned rows (byte/row-plan.ts, ByteStream.expect, scoreBytes planBytes): the rows of a known
// document's next bytes, enumerated from the text and the tokenizer, run in one forward and are
// handed out when the stream asks for them; the bits stay those of scoring rows as they are found.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { documentStartId, PLAN_BYTES, planBytesFor, scoreBytes, ScoreOptions } from '../src/ensemble/score';
import { TeacherForcedLM } from '../src/ensemble/teacher-lm';
import { ByteStream } from '../src/byte/byte-stream';
import { plannedRows } from '../src/byte/row-plan';
import { altTails, stableCommitPoint, tokensBefore } from '../src/byte/lookahead';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { utf8Encode } from '../src/tokenizer/utf8';
import { bundledModels } from './helpers';

/** Blank lines, indentation runs, a contraction, a comment with a non-ASCII character. */
const TEXT = "def add(a, b):\n    return a + b\n\n\nclass Foo:\n    x = 1  # don't é\n        y = 2\n";
const X = utf8Encode(TEXT);
const EXACT: ScoreOptions = { uncheckedMass: 0, lazyMass: 0, tokenLevel: false };
/** Several context windows. */
const LONG_TEXT = 'result = compute(alpha, beta)  # step\n    if result:\n        total += result\n'.repeat(6);

/** The end row of text[:k] and its lookahead variants, each from the whole prefix (as CoverSet makes them). */
function rowsOfPrefix(tok: Tokenizer, text: Uint8Array, k: number): number[][] {
  const A = text.subarray(0, k);
  const ids = tok.encodeBytes(A);
  const c = stableCommitPoint(tok, A);
  const head = tokensBefore(tok, ids, c);
  return [ids, ...(head ? altTails(tok, A.subarray(c)).map((alt) => head.concat(alt)) : [])];
}

describe('planned rows of a known document', () => {
  const bundles = bundledModels();
  const one = (name: string) => [{ bundle: bundles.get(name)!, weight: 1 }];

  for (const name of ['tiny-code-a', 'tiny-code-b']) {
    test(`${name}: the plan holds each prefix's end row and lookahead variants, as encoding the whole prefix gives them`, () => {
      const tok = bundles.get(name)!.tok;
      const p = X.subarray(0, 5);
      const planned = plannedRows(tok, p, X.subarray(5), { lookahead: true, maxTokens: Infinity });
      const want: number[][] = [];
      for (let k = 6; k <= X.length; k++) want.push(...rowsOfPrefix(tok, X, k));
      assert.ok(want.length > X.length - 5, 'some prefixes have lookahead variants');
      assert.deepEqual(planned, want);
    });

    test(`${name}: the plan stops where the committed tokens would pass maxTokens`, () => {
      const tok = bundles.get(name)!.tok;
      const all = plannedRows(tok, new Uint8Array(0), X, { lookahead: true, maxTokens: Infinity });
      const some = plannedRows(tok, new Uint8Array(0), X, { lookahead: true, maxTokens: 6 });
      assert.ok(some.length > 0 && some.length < all.length, `${some.length} of ${all.length} rows`);
      assert.deepEqual(some, all.slice(0, some.length));
    });

    test(`${name}: a plan of the whole text leaves no row to a forward of its own (the window and one tree)`, async () => {
      const r = await scoreBytes(one(name), null, TEXT, { tokenLevel: false, planBytes: X.length });
      assert.equal(r.forwards[0], 2);
    });

    test(`${name}: the default plan runs fewer forwards than rows scored as they are found, with the same bits`, async () => {
      const found = await scoreBytes(one(name), null, TEXT, { tokenLevel: false, planBytes: 0 });
      const planned = await scoreBytes(one(name), null, TEXT, { tokenLevel: false });
      assert.ok(planned.forwards[0] < found.forwards[0], `${planned.forwards[0]} vs ${found.forwards[0]} forwards`);
      // Up to the float rounding of different forward shapes.
      assert.ok(Math.abs(planned.bits - found.bits) <= 1e-8 * found.bits, `${planned.bits} vs ${found.bits}`);
    });

    test(`${name}: exact scoring gives the same bits with and without the plan`, async () => {
      const found = await scoreBytes(one(name), null, TEXT, { ...EXACT, planBytes: 0 });
      const planned = await scoreBytes(one(name), null, TEXT, EXACT);
      assert.ok(Math.abs(planned.bits - found.bits) <= 1e-8 * found.bits, `${planned.bits} vs ${found.bits}`);
    });
  }

  test('across window restarts the plan gives the same bits in fewer forwards', async () => {
    const opts: ScoreOptions = { tokenLevel: false, maxContext: 60, keepTokens: 20 };
    const found = await scoreBytes(one('tiny-code-b'), null, LONG_TEXT, { ...opts, planBytes: 0 });
    const planned = await scoreBytes(one('tiny-code-b'), null, LONG_TEXT, opts);
    assert.ok(planned.forwards[0] < found.forwards[0], `${planned.forwards[0]} vs ${found.forwards[0]} forwards`);
    assert.ok(Math.abs(planned.bits - found.bits) <= 1e-8 * found.bits, `${planned.bits} vs ${found.bits}`);
  });

  test('an ensemble plans for each member: the same mixture bits in fewer forwards per member', async () => {
    const both = [...bundles.values()].map((bundle) => ({ bundle, weight: 1 }));
    const found = await scoreBytes(both, 'mixture', TEXT, { planBytes: 0 });
    const planned = await scoreBytes(both, 'mixture', TEXT);
    planned.forwards.forEach((f, k) => assert.ok(f < found.forwards[k], `member ${k}: ${f} vs ${found.forwards[k]} forwards`));
    assert.ok(Math.abs(planned.bits - found.bits) <= 1e-8 * found.bits, `${planned.bits} vs ${found.bits}`);
  });

  test('with padded batches an explicit planBytes plans nothing: the forwards and bits of no plan', async () => {
    // Each planned row would be a batch row with its own copy of the past (at 151k ids a 512-byte
    // plan asked for a 28 GB buffer).
    const opts: ScoreOptions = { tokenLevel: false, treeBranches: false };
    const none = await scoreBytes(one('tiny-code-b'), null, TEXT, { ...opts, planBytes: 0 });
    const asked = await scoreBytes(one('tiny-code-b'), null, TEXT, { ...opts, planBytes: 512 });
    assert.equal(asked.forwards[0], none.forwards[0]);
    assert.equal(asked.bits, none.bits);
  });

  test('the default plan keeps a tree\'s logits near 64 MB: the whole plan at 4k ids, about 110 bytes at 151,936', () => {
    assert.equal(planBytesFor(4096), PLAN_BYTES);
    const big = planBytesFor(151936);
    assert.ok(big >= 32 && big * 151936 * 4 <= 64 * 2 ** 20, `${big} bytes`);
    assert.ok(big < PLAN_BYTES);
  });

  test('a pushed byte other than the expected one drops the plan: the forwards and bits of no plan', async () => {
    const b = bundles.get('tiny-code-b')!;
    const run = async (expected: Uint8Array | null): Promise<{ bits: number; forwards: number }> => {
      const start = documentStartId(b);
      const lm = new TeacherForcedLM(b.model, [start, ...b.tok.encodeBytes(X)], 900);
      const s = await ByteStream.create(lm, b.tok, b.index, await lm.first(), [start], new Uint8Array(0), { stopIds: b.template.stopIds, uncheckedMass: 1e-4, lazyMass: 1e-4 });
      if (expected) s.expect(expected, 256);
      let bits = 0;
      for (const byte of X) {
        bits -= Math.log2((await s.distributionFor(byte))[byte]);
        await s.push(byte);
      }
      return { bits, forwards: lm.stats.forwards };
    };
    const other = utf8Encode(TEXT.toUpperCase());
    const none = await run(null);
    const wrong = await run(other);
    assert.equal(wrong.forwards, none.forwards);
    assert.equal(wrong.bits, none.bits);
  });
});
