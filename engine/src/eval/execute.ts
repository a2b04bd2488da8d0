// Runs HumanEval programs with python3 in a subprocess. This is containment, not a sandbox:
// a fresh temp dir as cwd and HOME, a stripped environment, `-I` (no user site, no PYTHON*
// variables, script dir not on sys.path), closed stdin, rlimits on memory/file size/procs set
// by a small wrapper, a wall-clock timeout that SIGKILLs the whole process group, and capped
// output. Only run benchmark code you trust (HumanEval tests + model completions).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ExecOptions {
  /** Wall-clock limit per program; default 10000 ms. */
  timeoutMs?: number;
  /** Python executable; default 'python3' (resolved to its real binary, see resolvePython). */
  python?: string;
  /** Bytes of stdout+stderr kept; default 64 KiB (the rest is drained and dropped). */
  maxOutputBytes?: number;
  /** Address-space limit in bytes; default 4 GiB. 0 disables. */
  memoryBytes?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  passed: boolean;
  timedOut: boolean;
  /** Last lines of stderr (or the reason) when it did not pass. */
  error?: string;
  ms: number;
}

/** The program run for a HumanEval case (same layout as human-eval-infilling). */
export function buildHumanEvalProgram(prefix: string, completion: string, suffix: string, test: string, entryPoint: string): string {
  return prefix + completion + suffix + '\n' + test + '\ncheck(' + entryPoint + ')\n';
}

// Wrapper: set limits, then run prog.py as __main__. RLIMIT_FSIZE caps files it writes;
// RLIMIT_NPROC is not set because it counts all processes of the user, not just ours.
const WRAPPER = `import resource, runpy, sys
def lim(r, v):
    try:
        resource.setrlimit(r, (v, v))
    except (ValueError, OSError):
        pass
mem = int(sys.argv[1])
if mem > 0:
    lim(resource.RLIMIT_AS, mem)
lim(resource.RLIMIT_FSIZE, 16 * 1024 * 1024)
lim(resource.RLIMIT_CORE, 0)
sys.argv = ['prog.py']
runpy.run_path('prog.py', run_name='__main__')
`;

const resolved = new Map<string, string>();

/**
 * The real interpreter behind `python3` (sys.executable), resolved once. Shims such as
 * pyenv's are shell scripts that add their own variables to the environment and cost a
 * shell start per run.
 */
export function resolvePython(python = 'python3'): string {
  let exe = resolved.get(python);
  if (exe === undefined) {
    try {
      exe = execFileSync(python, ['-I', '-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 10_000 }).trim() || python;
    } catch {
      exe = python; // the spawn below reports the error
    }
    resolved.set(python, exe);
  }
  return exe;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone.
  }
}

function tailLines(s: string, n: number): string {
  return s.trimEnd().split('\n').slice(-n).join('\n');
}

export async function executePython(program: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const cap = opts.maxOutputBytes ?? 64 * 1024;
  const start = Date.now();
  if (opts.signal?.aborted) return { passed: false, timedOut: false, error: 'aborted', ms: 0 };
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'bytefill-exec-'));
  try {
    await fs.promises.writeFile(path.join(dir, 'prog.py'), program);
    await fs.promises.writeFile(path.join(dir, 'wrapper.py'), WRAPPER);
    return await new Promise<ExecResult>((resolve) => {
      const child = spawn(resolvePython(opts.python), ['-I', 'wrapper.py', String(opts.memoryBytes ?? 4 * 1024 ** 3)], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: process.env.LANG ?? 'C.UTF-8' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group, so a timeout kills its children too
      });
      let kept = 0;
      const chunks: Buffer[] = [];
      const collect = (b: Buffer) => {
        if (kept < cap) {
          const part = b.subarray(0, cap - kept);
          chunks.push(part);
          kept += part.length;
        }
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      let timedOut = false;
      let aborted = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timeoutMs);
      const onAbort = () => {
        aborted = true;
        killGroup(child.pid);
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // 'exit' fires when python exits; kill leftovers in its group so 'close' (pipes) follows.
      child.on('exit', () => killGroup(child.pid));
      let done = false;
      const finish = (code: number | null, err?: string) => {
        if (done) return; // 'error' and 'close' can both fire
        done = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        const passed = code === 0 && !timedOut && !aborted && !err;
        const out = Buffer.concat(chunks).toString('utf8');
        const error = passed
          ? undefined
          : timedOut
            ? `timed out after ${timeoutMs} ms`
            : aborted
              ? 'aborted'
              : err ?? (tailLines(out, 5) || `exit code ${code}`);
        resolve({ passed, timedOut, error, ms: Date.now() - start });
      };
      child.on('error', (e) => finish(null, String(e)));
      child.on('close', (code) => finish(code));
    });
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** Runs at most `concurrency` programs at a time; `run` queues. */
export class PythonExecutor {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly opts: ExecOptions & { concurrency?: number } = {},
  ) {}

  async run(program: string, signal?: AbortSignal): Promise<ExecResult> {
    const limit = Math.max(1, this.opts.concurrency ?? 2);
    // A finished run hands its slot straight to the next waiter, so `active` never overshoots.
    if (this.active >= limit) await new Promise<void>((r) => this.queue.push(r));
    else this.active++;
    try {
      return await executePython(program, { ...this.opts, signal: signal ?? this.opts.signal });
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Executes all programs, `concurrency` (default 2) at a time; results in input order. */
export function executeAll(programs: readonly string[], opts: ExecOptions & { concurrency?: number } = {}): Promise<ExecResult[]> {
  const ex = new PythonExecutor(opts);
  return Promise.all(programs.map((p) => ex.run(p)));
}
