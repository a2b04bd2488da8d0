// Memory read bandwidth, for the decode-step floor (bytes of weights read per step / bandwidth).
// Each of `threads` worker threads reads its own Float64Array, larger than any cache, several
// times (one value per cache line); the bandwidth is total bytes / wall time of the slowest worker.
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const a = new Float64Array(workerData.bytes / 8);
for (let i = 0; i < a.length; i += 512) a[i] = i;
let s = 0;
for (let i = 0; i < a.length; i++) s += a[i]; // warm-up, page in
parentPort.postMessage('ready');
parentPort.once('message', () => {
  const t0 = performance.now();
  for (let r = 0; r < workerData.reps; r++) {
    // One read per 64-byte cache line: the memory system moves whole lines, so this reads every
    // byte of the array from DRAM while the JavaScript loop does 1/8 of the work (a scalar loop
    // over every element is bound by the interpreter's arithmetic, not by memory).
    let s0 = 0, s1 = 0;
    for (let i = 0; i < a.length; i += 16) { s0 += a[i]; s1 += a[i + 8]; }
    s += s0 + s1;
  }
  parentPort.postMessage({ ms: performance.now() - t0, s });
});
`;

export interface BandwidthResult {
  threads: number;
  /** GB/s (1e9 bytes) read by all threads together. */
  gbPerS: number;
}

export async function measureBandwidth(threads: number, bytesPerThread = 256 * 2 ** 20, reps = 4): Promise<BandwidthResult> {
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { bytes: bytesPerThread, reps } }));
  try {
    await Promise.all(workers.map((w) => new Promise((res) => w.once('message', res))));
    const t0 = performance.now();
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((res) => {
            w.once('message', res);
            w.postMessage('go');
          }),
      ),
    );
    const ms = performance.now() - t0;
    return { threads, gbPerS: (threads * bytesPerThread * reps) / (ms / 1000) / 1e9 };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
