// Single- vs multi-line decisions on real tree-sitter grammars, and incremental re-parsing.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DocumentTrees, editFor } from '../src/syntax/documentTrees';
import { locateWasm } from '../src/syntax/grammars';
import { decideMultiline, syntaxFacts, textOpener } from '../src/syntax/multiline';
import { lineAfterCursor, lineBeforeCursor } from '../src/postprocess/types';
import { TextDocument } from 'vscode-languageserver-textdocument';

/** `|` marks the cursor. */
async function decide(languageId: string, marked: string): Promise<boolean> {
  const offset = marked.indexOf('|');
  const text = marked.slice(0, offset) + marked.slice(offset + 1);
  const trees = new DocumentTrees();
  trees.open('file:///t', languageId);
  const tree = await trees.tree('file:///t', () => text);
  assert.ok(tree, `no tree for ${languageId}`);
  const facts = syntaxFacts(tree, text, offset, languageId);
  const out = decideMultiline(lineBeforeCursor(text.slice(0, offset)), lineAfterCursor(text.slice(offset)), languageId, facts);
  trees.close('file:///t');
  return out;
}

test('wasm files are found (syntaxes/ or node_modules)', () => {
  const loc = locateWasm();
  assert.ok(loc, 'tree-sitter wasm not found');
});

const CASES: [string, string, boolean][] = [
  ['python', 'for item in items:\n    conti|', false],
  ['python', 'def f(x):|', true],
  ['python', 'def f(x):\n    |', true],
  ['python', 'class A:\n    def m(self):|\n', true],
  ['python', 'if x > 1:|\n    pass', true],
  ['python', 'd = {"a":|', false],
  ['python', 'f = lambda x:|', false],
  ['python', 'x = "abc|"', false],
  ['python', '# a comment:|', false],
  ['python', 's = """doc\n|', false],
  ['python', 'print(|)', false],
  ['python', 'x = foo(|a, b)', false],
  ['typescript', 'function f(a: number) {|', true],
  ['typescript', 'function f(a: number) {|\n}', true],
  ['typescript', 'let x: |', false],
  ['typescript', 'const s = `templ|`;', false],
  ['typescript', '// note {|', false],
  ['typescript', 'class A {\n  |\n}', true],
  ['typescriptreact', 'const el = <div>{|}</div>;', false],
  ['javascript', 'const o = {|', true],
  ['javascript', 'foo(bar|);', false],
];

for (const [lang, marked, expected] of CASES) {
  test(`multi-line decision ${lang}: ${JSON.stringify(marked)} -> ${expected ? 'multi' : 'single'}`, async () => {
    assert.equal(await decide(lang, marked), expected);
  });
}

test('text-only fallback for languages without a grammar', () => {
  assert.equal(decideMultiline('fn main() {', '', 'rust', null), true);
  assert.equal(decideMultiline('let x = 1', '', 'rust', null), false);
  assert.equal(decideMultiline('    ', '', 'rust', null), true);
  assert.equal(textOpener('if x:', 'python'), true);
  assert.equal(textOpener('let x:', 'typescript'), false);
});

test('incremental edits keep the tree in sync with the text', async () => {
  const trees = new DocumentTrees();
  const uri = 'file:///inc.py';
  let doc = TextDocument.create(uri, 'python', 1, 'é = 1\ndef f(x):\n    return x\n');
  trees.open(uri, 'python');
  const t1 = await trees.tree(uri, () => doc.getText());
  assert.ok(t1);
  assert.equal(t1.rootNode.hasError, false);
  // Replace "x" in "return x" by "x + 1" and insert a new line, as ranged edits.
  const edits = [
    { range: { start: { line: 2, character: 12 }, end: { line: 2, character: 12 } }, text: ' + 1' },
    { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'import os\n' },
  ];
  for (const ch of edits) {
    const s = doc.offsetAt(ch.range.start);
    const e = doc.offsetAt(ch.range.end);
    trees.edit(uri, editFor(s, e, doc.positionAt(s), doc.positionAt(e), ch.text));
    doc = TextDocument.update(doc, [ch], doc.version + 1);
  }
  const t2 = await trees.tree(uri, () => doc.getText());
  assert.ok(t2);
  assert.equal(t2.rootNode.hasError, false);
  const text = doc.getText();
  // The tree matches a fresh parse of the new text.
  const fresh = new DocumentTrees();
  fresh.open('file:///fresh.py', 'python');
  const t3 = await fresh.tree('file:///fresh.py', () => text);
  assert.equal(t2.rootNode.toString(), t3!.rootNode.toString());
  const ret = t2.rootNode.descendantForIndex(text.indexOf('+ 1'));
  assert.equal(ret?.parent?.type, 'binary_operator');
  trees.close(uri);
  fresh.close('file:///fresh.py');
});

test('documents larger than the parse cap get no tree (heuristics still apply)', async () => {
  const trees = new DocumentTrees();
  trees.open('file:///big.py', 'python');
  const big = 'x = 1\n'.repeat(400_000);
  assert.equal(await trees.tree('file:///big.py', () => big), null);
});
