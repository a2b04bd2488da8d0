// Chunked prefill (BENCHMARKS.md): total prefill time and the longest single forward (how long a
// cancel may wait) per chunk size, for prompts of 512 and 1000 tokens. Chunk sizes are
// interleaved within each repetition so machine load hits them alike. Run after `npx tsc`.
// Usage: node scripts/bench-prefill-chunks.js [reps=7] [model dirs...]
const path = require('node:path');
const { OnnxModel, PrefixCache } = require('../out/engine/src/index.js');

const reps = Number(process.argv[2] ?? 7);
const dirs = process.argv.length > 3 ? process.argv.slice(3) : ['tiny-code-a', 'tiny-code-b'].map((m) => path.join(__dirname, '..', 'models', m));
const CHUNKS = [64, 128, 256, 512, 1024];
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

(async () => {
  const rows = [];
  for (const dir of dirs) {
    const m = await OnnxModel.load(dir, { device: 'cpu' });
    const V = m.config.vocabSize;
    for (const n of [512, 1000]) {
      const ids = Array.from({ length: n }, (_, i) => 6 + ((i * 7919 + 13) % (V - 6)));
      const total = new Map(CHUNKS.map((c) => [c, []]));
      const longest = new Map(CHUNKS.map((c) => [c, []]));
      await new PrefixCache(m, { chunkTokens: n }).prefill(ids); // warm-up
      for (let r = 0; r < reps; r++) {
        for (const chunk of CHUNKS) {
          const cache = new PrefixCache(m, { chunkTokens: chunk });
          let last = performance.now();
          let worst = 0;
          const t0 = last;
          await cache.prefill(ids, {
            onChunk: () => {
              const now = performance.now();
              worst = Math.max(worst, now - last);
              last = now;
            },
          });
          total.get(chunk).push(performance.now() - t0);
          longest.get(chunk).push(worst);
          // Timer between forwards = the yield itself is included in the next chunk's time.
          await new Promise((r) => setImmediate(r));
        }
      }
      const base = median(total.get(1024));
      for (const chunk of CHUNKS) {
        rows.push({ model: path.basename(dir), tokens: n, chunk, totalMs: +median(total.get(chunk)).toFixed(1), vsWhole: +(median(total.get(chunk)) / base).toFixed(2), longestForwardMs: +median(longest.get(chunk)).toFixed(1) });
      }
    }
    await m.dispose();
  }
  console.table(rows);
  console.log(JSON.stringify(rows));
})();
