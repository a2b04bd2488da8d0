// Ensemble single-line latency (BENCHMARKS.md section 3): 15 mid-token prompts, a keystroke with
// the previous prefix completed just before, stop at newline, at most 40 bytes. Run after `npx tsc -b`.
const path = require('node:path');
const { Engine, loadMidtoken, percentile } = require('../out/engine/src/index.js');
(async () => {
  const out = {};
  for (const ens of ['mixture', 'product']) {
    const e = await Engine.create({ models: [path.join(__dirname, '..', 'models', 'tiny-code-a'), path.join(__dirname, '..', 'models', 'tiny-code-b')], ensemble: ens });
    const cases = loadMidtoken(undefined, 15);
    const ms = [], bytes = [];
    for (const c of cases) {
      await e.complete({ prefix: c.prefix.slice(0, -1), suffix: c.suffix, mode: 'byte', stop: ['\n'], maxTokens: 10 });
      const t = performance.now();
      const r = await e.complete({ prefix: c.prefix, suffix: c.suffix, mode: 'byte', stop: ['\n'], maxTokens: 10 });
      ms.push(performance.now() - t); bytes.push(Buffer.byteLength(r.completion));
    }
    const totB = bytes.reduce((a, b) => a + b, 0), totMs = ms.reduce((a, b) => a + b, 0);
    out[ens] = { p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), meanBytes: totB / cases.length, bytesPerSecond: totB / (totMs / 1000) };
    await e.dispose();
  }
  console.log(JSON.stringify(out));
})();
