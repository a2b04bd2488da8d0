// Shared test helpers: where the repo and its bundled models are.
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { after, before } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mulberry32, randInt } from '../src/core/rng';
import { ModelBundle } from '../src/bundle/model-bundle';

function findRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'models', 'tiny-code-b', 'config.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repo root with models/ not found');
    dir = up;
  }
  return dir;
}

export const repoRoot = findRoot(__dirname);
export const modelDir = (name: 'tiny-code-a' | 'tiny-code-b') => path.join(repoRoot, 'models', name);

/** Both bundled models on the CPU, loaded before the enclosing suite's tests and disposed after them (by name). */
export function bundledModels(): Map<string, ModelBundle> {
  const bundles = new Map<string, ModelBundle>();
  before(async () => {
    for (const name of ['tiny-code-a', 'tiny-code-b'] as const) bundles.set(name, await ModelBundle.load(modelDir(name), { device: 'cpu' }));
  });
  after(async () => {
    for (const b of bundles.values()) await b.dispose();
  });
  return bundles;
}

/** Largest absolute difference between two equal-length vectors. */
export function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export function assertClose(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  const d = maxDiff(a, b);
  if (!(d <= tol)) throw new Error(`${what}: max |diff| ${d} > ${tol}`);
}

export function argmaxOf(a: Float32Array): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i;
  return k;
}

/** Deterministic non-special token ids in [6, V). */
export function pseudoIds(n: number, seed: number, V: number): number[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => 6 + randInt(rng, V - 6));
}

/**
 * Whether this machine is expected to run the WebGPU tests: BYTEFILL_GPU_EXPECTED=1 (a GPU
 * machine) or =0 (never), else whether scripts/gpu-setup.sh --check finds the software Vulkan
 * driver installed. When expected, a WebGPU failure is a test failure, not a skip.
 */
export function webgpuExpectation(): { expected: boolean; reason: string } {
  const env = process.env.BYTEFILL_GPU_EXPECTED;
  if (env === '1') return { expected: true, reason: 'BYTEFILL_GPU_EXPECTED=1' };
  if (env === '0') return { expected: false, reason: 'BYTEFILL_GPU_EXPECTED=0' };
  const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'gpu-setup.sh'), '--check'], { encoding: 'utf8' });
  const said = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').pop() ?? '';
  if (r.status === 0) return { expected: true, reason: said };
  return { expected: false, reason: `no WebGPU adapter expected here: ${said || r.error?.message || `gpu-setup.sh exit ${r.status}`}` };
}

/**
 * A temporary folder for one test file, created before its tests and removed after them, with
 * BYTEFILL_CACHE_DIR pointed at `cacheName` inside it meanwhile (derived graphs land there).
 */
export function tempDirWithCache(prefix: string, cacheName: string): { dir: string } {
  const tmp = { dir: '' };
  let saved: string | undefined;
  before(() => {
    tmp.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    saved = process.env.BYTEFILL_CACHE_DIR;
    process.env.BYTEFILL_CACHE_DIR = path.join(tmp.dir, cacheName);
  });
  after(() => {
    if (saved === undefined) delete process.env.BYTEFILL_CACHE_DIR;
    else process.env.BYTEFILL_CACHE_DIR = saved;
    fs.rmSync(tmp.dir, { recursive: true, force: true });
  });
  return tmp;
}
