import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildHumanEvalProgram, executeAll, executePython, PythonExecutor } from '../src/eval/execute';

const prefix = 'def add(a, b):\n';
const suffix = '';
const testCode = 'def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n';

test('a correct solution passes', async () => {
  const ok = await executePython(buildHumanEvalProgram(prefix, '    return a + b\n', suffix, testCode, 'add'));
  assert.equal(ok.passed, true, ok.error);
  assert.equal(ok.timedOut, false);
});

test('a wrong solution fails with its AssertionError, not a timeout', async () => {
  const bad = await executePython(buildHumanEvalProgram(prefix, '    return a - b\n', suffix, testCode, 'add'));
  assert.equal(bad.passed, false);
  assert.equal(bad.timedOut, false);
  assert.match(bad.error ?? '', /AssertionError/);
});

test('a solution that does not parse fails with its SyntaxError', async () => {
  const syntax = await executePython(buildHumanEvalProgram(prefix, '    return a +\n', suffix, testCode, 'add'));
  assert.equal(syntax.passed, false);
  assert.match(syntax.error ?? '', /SyntaxError/);
});

test('an endless loop times out and its process group is killed', async () => {
  const pidFile = path.join(os.tmpdir(), `bytefill-test-pid-${process.pid}`);
  // The program starts a grandchild that would sleep for a minute, then spins.
  const prog =
    'import subprocess, sys\n' +
    `p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n` +
    `open(${JSON.stringify(pidFile)}, 'w').write(str(p.pid))\n` +
    'while True: pass\n';
  const t0 = Date.now();
  const r = await executePython(prog, { timeoutMs: 1000 });
  const took = Date.now() - t0;
  assert.equal(r.passed, false);
  assert.equal(r.timedOut, true);
  assert.ok(took < 4000, `took ${took} ms`);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  fs.rmSync(pidFile, { force: true });
  await new Promise((res) => setTimeout(res, 100));
  // Gone, or a zombie waiting for a reaper (containers may lack one): not running either way.
  let state = 'gone';
  try {
    state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
  } catch {
    /* gone */
  }
  assert.ok(state === 'gone' || state === 'Z', `grandchild state ${state}`);
});

test('writes land in a fresh temp dir (cwd and HOME) that is removed afterwards; env is stripped', async () => {
  const prog =
    'import os\n' +
    "open('out.txt', 'w').write('hi')\n" +
    "assert os.path.exists(os.path.join(os.getcwd(), 'out.txt'))\n" +
    "assert os.environ['HOME'] == os.getcwd()\n" +
    "extra = set(os.environ) - {'PATH', 'HOME', 'LANG', 'LC_CTYPE'}\n" +
    "assert not extra, extra\n" +
    "raise SystemExit('CWD=' + os.getcwd())\n";
  const r = await executePython(prog);
  assert.equal(r.passed, false);
  const m = /CWD=(\S+)/.exec(r.error ?? '');
  assert.ok(m, r.error);
  assert.ok(m![1].startsWith(path.join(os.tmpdir(), 'bytefill-exec-')), m![1]);
  assert.equal(fs.existsSync(m![1]), false);
});

test('output is capped', async () => {
  const r = await executePython("import sys\nsys.stdout.write('x' * 10_000_000)\nraise SystemExit(3)\n", {
    maxOutputBytes: 1000,
  });
  assert.equal(r.passed, false);
  assert.ok((r.error ?? '').length <= 1000);
});

test('stdin is closed: a program reading it gets end of file at once', async () => {
  const r = await executePython("import sys\nraise SystemExit(0 if sys.stdin.read() == '' else 1)\n", { timeoutMs: 10_000 });
  assert.equal(r.timedOut, false);
  assert.equal(r.passed, true, r.error);
});

test('executor runs at most `concurrency` programs at a time, and returns results in order', async () => {
  const ex = new PythonExecutor({ concurrency: 2 });
  let peak = 0;
  let active = 0;
  const tracked = (p: string) => {
    active++;
    peak = Math.max(peak, active);
    return ex.run(p).finally(() => active--);
  };
  // Count concurrency at the Python level instead: each program sleeps a bit.
  const progs = [0, 1, 2, 3].map((i) => `import time\ntime.sleep(0.2)\nraise SystemExit(${i === 2 ? 1 : 0})\n`);
  const t0 = Date.now();
  const rs = await Promise.all(progs.map(tracked));
  const took = Date.now() - t0;
  assert.deepEqual(rs.map((r) => r.passed), [true, true, false, true]);
  assert.equal(peak, 4); // all queued at once...
  assert.ok(took >= 400, `took ${took} ms`); // ...but only 2 ran together: 2 rounds of 0.2 s
});

test('executeAll runs a list of programs and returns their results in order', async () => {
  const all = await executeAll(['pass\n', 'raise SystemExit(1)\n'], { concurrency: 2 });
  assert.deepEqual(all.map((r) => r.passed), [true, false]);
});

test('an aborted signal stops a run', async () => {
  const ac = new AbortController();
  const p = executePython('while True: pass\n', { timeoutMs: 10_000, signal: ac.signal });
  setTimeout(() => ac.abort(), 300);
  const r = await p;
  assert.equal(r.passed, false);
  assert.equal(r.error, 'aborted');
  assert.ok(r.ms < 3000);
});
