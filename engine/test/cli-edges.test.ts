// Hostile CLI input: special files and out-of-range options each get one clear line and a
// non-zero exit, quickly (each run is bounded; a hang fails the test instead of stalling it).
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './helpers';

const CLI = path.join(repoRoot, 'out', 'engine', 'src', 'cli', 'main.js');
const example = path.join(repoRoot, 'examples', 'conti.py');
const BOUND_MS = 30_000;

function run(...args: string[]) {
  const t = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: BOUND_MS });
  return { ...r, ms: Date.now() - t };
}

describe('CLI edge cases', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bf-cli-edges-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const cases = (): Array<[string, string[], RegExp, number]> => {
    const fifo = path.join(tmp, 'pipe.py');
    if (!fs.existsSync(fifo)) execFileSync('mkfifo', [fifo]);
    const zeroLink = path.join(tmp, 'zero.py');
    if (!fs.existsSync(zeroLink)) fs.symlinkSync('/dev/zero', zeroLink);
    const models = Array.from({ length: 9 }, (_, i) => ['--model', path.join(tmp, `m${i}`)]).flat();
    return [
      ['--file /dev/zero', ['complete', '--file', '/dev/zero', '--cursor', '1'], /^bytefill: \/dev\/zero is a character device, not a regular file$/m, 2],
      ['--file symlink to /dev/zero', ['complete', '--file', zeroLink, '--cursor', '1'], /zero\.py is a character device, not a regular file/, 2],
      ['--file FIFO', ['complete', '--file', fifo], /pipe\.py is a FIFO \(named pipe\), not a regular file/, 2],
      ['score a FIFO', ['score', '--files', fifo, '--threads', '1'], /cannot read .*pipe\.py: it is a FIFO \(named pipe\), not a regular file/, 2],
      ['--threads 100000', ['complete', '--file', example, '--threads', '100000'], /--threads must be in 1\.\.256, got 100000/, 2],
      ['--threads 0', ['complete', '--file', example, '--threads', '0'], /--threads must be in 1\.\.256, got 0/, 2],
      ['--temperature -1', ['complete', '--file', example, '--temperature', '-1'], /--temperature must be in 0\.\.100, got -1/, 2],
      ['--top-p 5', ['complete', '--file', example, '--top-p', '5'], /--top-p must be in 0\.\.1, got 5/, 2],
      ['--max-bytes -5', ['score', '--files', example, '--max-bytes', '-5'], /--max-bytes must be a non-negative integer in decimal digits \(0\.\.1073741824\), got '-5'/, 2],
      ['--cursor 1e1', ['complete', '--file', example, '--cursor', '1e1'], /--cursor must be a non-negative integer in decimal digits, got '1e1'/, 2],
      ['--cursor 0x10', ['complete', '--file', example, '--cursor', '0x10'], /--cursor must be a non-negative integer in decimal digits, got '0x10'/, 2],
      ['--temperature abc', ['complete', '--file', example, '--temperature', 'abc'], /--temperature must be a number in 0\.\.100, got 'abc'/, 2],
      ['9 models', ['complete', '--file', example, ...models], /9 model folders given: an ensemble has at most 8 models/, 2],
    ];
  };

  test('each gets one line on stderr, a non-zero exit, no stack trace, within the bound', () => {
    for (const [name, args, re, code] of cases()) {
      const r = run(...args);
      assert.equal(r.signal, null, `${name}: killed after ${r.ms} ms (hang)`);
      assert.equal(r.status, code, `${name}: exit ${r.status}: ${r.stderr}`);
      assert.match(r.stderr, re, name);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line: ${r.stderr}`);
      assert.ok(!/^\s+at /m.test(r.stderr), `${name}: no stack trace`);
      assert.equal(r.stdout, '', `${name}: nothing on stdout`);
    }
  });
});
