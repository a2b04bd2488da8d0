// The CLI as a user runs it: a real process, real models, exit codes and one-line errors.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './helpers';

const CLI = path.join(repoRoot, 'out', 'engine', 'src', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
const example = path.join(repoRoot, 'examples', 'conti.py');

test('complete --json prints the documented fields and continues the identifier', () => {
  const r = run('complete', '--file', example, '--cursor', '98', '--json', '--max-tokens', '6', '--stop', '\\n', '--threads', '1');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ['completion', 'mode', 'models', 'promptTokens', 'ms']) assert.ok(k in j, `field ${k}`);
  assert.equal(j.mode, 'byte');
  assert.deepEqual(j.models, ['tiny-code-b']);
  assert.ok(j.completion.startsWith('nue'), j.completion);
});

// Each bad invocation: one clear line on stderr, no stack trace, exit 2 for bad arguments, 1 otherwise.
const ERROR_CASES: Array<[string, string[], RegExp, number]> = [
  ['a missing file', ['complete', '--file', '/nonexistent/x.py', '--cursor', '1'], /file not found: \/nonexistent\/x\.py/, 1],
  ['a cursor past the end', ['complete', '--file', example, '--cursor', '100000'], /past the end/, 2],
  ['an unknown mode', ['complete', '--file', example, '--mode', 'fast'], /--mode must be one of token, heal, byte/, 2],
  ['a missing model folder', ['complete', '--file', example, '--model', '/nonexistent/model'], /Model folder not found: \/nonexistent\/model/, 1],
  ['an unknown option', ['complete', '--file', example, '--bogus'], /unknown option --bogus/, 2],
  ['an unknown HumanEval set', ['eval', 'humaneval', '--set', 'nope'], /--set must be one of/, 2],
  ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/, 2],
  ['an unknown report', ['report', 'nope'], /report needs one of modes, ensemble, uscd/, 2],
  ['an unknown USCD bench', ['bench', 'uscd', 'nope'], /bench uscd needs one of stats, quality, latency/, 2],
];

for (const [what, args, re, code] of ERROR_CASES) {
  test(`${what}: one clear line and exit ${code}`, () => {
    const r = run(...args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.ok(!/^\s+at /m.test(r.stderr), `no stack trace for ${args.join(' ')}`);
  });
}

test('a broken model folder (invalid config.json) is reported with its path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bf-broken-'));
  fs.mkdirSync(path.join(dir, 'onnx'));
  fs.writeFileSync(path.join(dir, 'config.json'), '{ broken');
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), 'not a model');
  const r = run('complete', '--file', example, '--model', dir);
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes(dir), r.stderr);
});

test('a file with invalid UTF-8 and special-token strings completes with a warning', () => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bf-bin-')), 'x.py');
  fs.writeFileSync(f, Buffer.concat([Buffer.from('s = "<|endoftext|>"\n'), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('\nprint(s')]));
  const r = run('complete', '--file', f, '--json', '--max-tokens', '4', '--threads', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /not valid UTF-8/);
  assert.equal(typeof JSON.parse(r.stdout).completion, 'string');
});

test('bench --byte-level without texts is a one-line error naming --files', () => {
  const r = run('bench', '--byte-level', '--threads', '1');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bench --byte-level needs --files/);
  assert.ok(!/^\s+at /m.test(r.stderr));
});

test('bench --byte-level --parts next-byte reports the exact next-byte cost in model steps', () => {
  const r = spawnSync(process.execPath, [CLI, 'bench', '--byte-level', '--parts', 'next-byte', '--next-byte-bytes', '6', '--files', example, '--json', '--threads', '1'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.nextByte.length, 1);
  const c = j.nextByte[0];
  assert.equal(c.model, 'tiny-code-b');
  assert.equal(c.bytes, 6);
  // Each byte's distribution needs at least the context's logits; cost is positive and finite.
  assert.ok(c.msPerByte > 0 && Number.isFinite(c.stepsPerByte) && c.stepsPerByte > 0, JSON.stringify(c));
  // The steady-state walk (a third one, after the warm walk) is reported beside the warm one.
  assert.ok(c.steadyMsPerByte > 0 && Number.isFinite(c.steadyStepsPerByte) && c.steadyStepsPerByte > 0, JSON.stringify(c));
  assert.deepEqual(j.scoring, []);
  assert.deepEqual(j.decoding, []);
  assert.deepEqual(j.validity, []);
});
