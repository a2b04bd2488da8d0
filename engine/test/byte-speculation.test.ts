// Speculative rows (byte/speculation.ts) on the synthetic LM: kept rows answer later branches
// without a forward and with the same scores, and a stream that speculates gives the same
// next-byte distributions as one that does not, with fewer forwards when the guesses come true.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { VocabIndex } from '../src/byte/vocab-index';
import { ByteStream, ByteStreamOptions } from '../src/byte/byte-stream';
import { guessedRows, SpeculativeRows } from '../src/byte/speculation';
import { utf8Encode } from '../src/tokenizer/utf8';
import { SyntheticLM, tinyTokenizer } from './synthetic';

const tok = tinyTokenizer();
const index = new VocabIndex(tok);
const CONTEXT = [5, 9];
const ids = (s: string) => tok.encode(s);

test('a kept guessed row answers a branch that is its prefix without a forward, with the same scores', async () => {
  const lm = new SyntheticLM(tok.vocabSize);
  const ctx = lm.ctx(CONTEXT);
  const spec = new SpeculativeRows();
  const [a, b, c] = ids('abc ab aa').slice(0, 3);
  await spec.score(lm, ctx, [[a]], () => [[a, b, c]]);
  const before = lm.stats.forwards;
  const [kept] = await spec.score(lm, ctx, [[a, b]], () => []);
  assert.equal(lm.stats.forwards, before);
  const [direct] = await new SyntheticLM(tok.vocabSize).score(ctx, [[a, b]]);
  assert.deepEqual(kept.stepLogp, direct.stepLogp);
  assert.deepEqual(kept.nexts.map((d) => d.array()), direct.nexts.map((d) => d.array()));
});

test('after a commit, kept rows answer the branches after the committed tokens', async () => {
  const lm = new SyntheticLM(tok.vocabSize);
  const ctx = lm.ctx(CONTEXT);
  const spec = new SpeculativeRows();
  const [a, b, c] = ids('abc ab aa').slice(0, 3);
  const [first] = await spec.score(lm, ctx, [[a]], () => [[a, b, c]]);
  spec.commit([a]);
  const ctx2 = first.extend(1);
  const before = lm.stats.forwards;
  const [kept] = await spec.score(lm, ctx2, [[b, c]], () => []);
  assert.equal(lm.stats.forwards, before);
  const [direct] = await lm.score(lm.ctx([...CONTEXT, a]), [[b, c]]);
  assert.deepEqual(kept.stepLogp, direct.stepLogp);
});

test('a guessed row is scored only when a due branch is a prefix of it', () => {
  const p = utf8Encode('abc');
  const due = [tok.encodeBytes(p)];
  assert.deepEqual(guessedRows(tok, p, [utf8Encode(' ab')], due, 8, 100), [tok.encodeBytes(utf8Encode('abc ab'))]);
  // "a" ++ "bc": the due row [a] is not a prefix of enc("abc").
  assert.deepEqual(guessedRows(tok, utf8Encode('a'), [utf8Encode('bc')], [ids('a')], 8, 100), []);
});

test('of several guesses, the first that a due branch is a prefix of gives the row', () => {
  // "a" ++ "bc": enc("abc") does not start with the due row [a]; "a" ++ " ab" does.
  const rows = guessedRows(tok, utf8Encode('a'), [utf8Encode('bc'), utf8Encode(' ab')], [ids('a')], 8, 100);
  assert.deepEqual(rows, [ids('a ab')]);
});

test('a guessed row is cut to maxTokens more tokens than the due row, and to the room left', () => {
  const p = utf8Encode('abc');
  const due = [tok.encodeBytes(p)];
  const guess = utf8Encode(' ab ab ab');
  assert.equal(guessedRows(tok, p, [guess], due, 1, 100)[0].length, due[0].length + 1);
  assert.deepEqual(guessedRows(tok, p, [guess], due, 8, due[0].length), []);
});

/** Next-byte distributions along `text`, and the forwards used, with the given speculation. */
async function walk(text: string, guess: ((pos: number) => Uint8Array) | null): Promise<{ dists: Float64Array[]; forwards: number }> {
  const x = utf8Encode(text);
  const lm = new SyntheticLM(tok.vocabSize);
  let pos = 0;
  const opts: ByteStreamOptions = { stopIds: new Set([0]), lazyMass: 1e-3 };
  if (guess) opts.speculate = { guesses: () => [guess(pos)], maxTokens: 4 };
  const s = await ByteStream.create(lm, tok, index, lm.ctx(CONTEXT), CONTEXT, new Uint8Array(0), opts);
  const dists = [s.nextByteDistribution()];
  for (const b of x) {
    pos++;
    await s.push(b);
    dists.push(s.nextByteDistribution());
  }
  return { dists, forwards: lm.stats.forwards };
}

const TEXT = 'abc ab aab cab abc';

test('a stream that guesses its next bytes right gives the same distributions as one that does not guess', async () => {
  const x = utf8Encode(TEXT);
  const plain = await walk(TEXT, null);
  const spec = await walk(TEXT, (pos) => x.subarray(pos));
  assert.deepEqual(spec.dists, plain.dists);
});

test('a stream that guesses wrong gives the same distributions as one that does not guess', async () => {
  const plain = await walk(TEXT, null);
  const spec = await walk(TEXT, () => utf8Encode(' cc xé'));
  assert.deepEqual(spec.dists, plain.dists);
});

test('right guesses save forwards', async () => {
  const x = utf8Encode(TEXT);
  const plain = await walk(TEXT, null);
  const spec = await walk(TEXT, (pos) => x.subarray(pos));
  assert.ok(spec.forwards < plain.forwards, `${spec.forwards} forwards with speculation, ${plain.forwards} without`);
});
