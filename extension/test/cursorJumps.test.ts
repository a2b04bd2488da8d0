// Which cursor moves ask the server to warm its prompt cache (extension/src/cursorJumps.ts).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { JUMP_LINES, JumpDetector } from '../src/cursorJumps';

const A = 'file:///a.py';
const B = 'file:///b.py';

test('the first move in a document and a move into another document are jumps', () => {
  const j = new JumpDetector();
  assert.equal(j.selectionChanged(A, 3, 1, 'keyboard'), true);
  assert.equal(j.selectionChanged(B, 3, 1, 'keyboard'), true);
});

test(`keyboard moves are jumps from ${JUMP_LINES} lines on; arrow keys through the text are not`, () => {
  const j = new JumpDetector();
  j.editorShown(A, 100, 1);
  assert.equal(j.selectionChanged(A, 101, 1, 'keyboard'), false);
  assert.equal(j.selectionChanged(A, 101 + JUMP_LINES - 1, 1, 'keyboard'), false);
  assert.equal(j.selectionChanged(A, 101 + JUMP_LINES - 1 - JUMP_LINES, 1, 'keyboard'), true);
});

test('a click or a command to another line is a jump; on the same line it is not', () => {
  const j = new JumpDetector();
  j.editorShown(A, 10, 1);
  assert.equal(j.selectionChanged(A, 10, 1, 'mouse'), false);
  assert.equal(j.selectionChanged(A, 12, 1, 'mouse'), true);
  assert.equal(j.selectionChanged(A, 300, 1, 'command'), true);
});

test('a move caused by an edit (typing, an accepted multi-line suggestion) is not a jump', () => {
  const j = new JumpDetector();
  j.editorShown(A, 10, 1);
  assert.equal(j.selectionChanged(A, 40, 2, 'other'), false, 'the document version changed');
  assert.equal(j.selectionChanged(A, 40, 2, 'mouse'), false, 'same line after the edit');
  assert.equal(j.selectionChanged(A, 80, 2, 'mouse'), true, 'a click afterwards is');
});

test('an editor shown is always worth warming', () => {
  const j = new JumpDetector();
  assert.equal(j.editorShown(A, 0, 1), true);
  assert.equal(j.editorShown(A, 0, 1), true);
});
