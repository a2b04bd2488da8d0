// Measurement script for USCD defaults and cost (not part of the library API).
//   node out/scripts/uscd-measure.js stats   N        gate statistics on plain greedy steps
//   node out/scripts/uscd-measure.js quality N cfgs   exact match of single-line completions
//   node out/scripts/uscd-measure.js latency N rounds USCD vs plain latency, interleaved
// Examples: held-out Python (this machine's standard library, never in the models' corpus): a line
// in the middle of a file, cursor at its indentation or a few characters in; target = rest of line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CompletionRequest, completeSingle, editSimilarity, Engine, uscd } from '../engine/src/index';

const { uscdStepperFactory, resolveUscdParams, completeUscdWith, UscdStepper, uncertainty, contrast } = uscd;

interface Example { prefix: string; suffix: string; target: string }

function rng(seed: number) {
  let x = seed >>> 0;
  return () => ((x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

export function examples(n: number, seed = 7): Example[] {
  const dir = fs.readdirSync('/usr/lib').filter((d) => /^python3\.\d+$/.test(d)).sort()[0];
  const root = path.join('/usr/lib', dir);
  const files = fs.readdirSync(root).filter((f) => f.endsWith('.py')).sort();
  const r = rng(seed);
  const out: Example[] = [];
  let guard = 0;
  while (out.length < n && guard++ < n * 50) {
    const text = fs.readFileSync(path.join(root, files[Math.floor(r() * files.length)]), 'utf8');
    const lines = text.split('\n');
    if (lines.length < 60) continue;
    const li = 30 + Math.floor(r() * (lines.length - 60));
    const line = lines[li];
    const t = line.trim();
    if (t.length < 12 || t.length > 70 || t.startsWith('#') || t.startsWith('"') || t.startsWith("'")) continue;
    const indent = line.length - line.trimStart().length;
    const cut = indent + (r() < 0.5 ? 0 : 1 + Math.floor(r() * Math.min(8, t.length / 3)));
    const before = lines.slice(0, li).join('\n') + '\n' + line.slice(0, cut);
    const after = '\n' + lines.slice(li + 1).join('\n');
    out.push({ prefix: before.slice(-1500), suffix: after.slice(0, 600), target: line.slice(cut) });
  }
  return out;
}

/** 1 - Levenshtein distance / max length (1 = identical). */

async function main() {
  const [what = 'stats', nArg = '40', extra = ''] = process.argv.slice(2);
  const n = Number(nArg);
  const engine = await Engine.create({ threads: 2 });
  const b = engine.bundles[0];
  const exs = examples(n);
  const req = (e: Example): CompletionRequest => ({ prefix: e.prefix, suffix: e.suffix, stop: ['\n'], maxTokens: 40, mode: 'byte' });

  if (what === 'stats') {
    // Per step of USCD decoding with threshold 0 (every step contrasted): u, top p_std, and whether
    // the contrast (alpha 0.3/0.5/0.7/1.0) changes the argmax.
    const rows: { u: number; top: number; flip: number[] }[] = [];
    for (const e of exs) {
      const r = req(e);
      const params = resolveUscdParams({ threshold: 1 });
      const f = uscdStepperFactory(r, engine.budget, params);
      await completeSingle(b, r, engine.budget, {
        makeStepper: async (ctx) => {
          const s = await f(ctx);
          if (!(s instanceof UscdStepper)) return s;
          const probs = s.probs.bind(s);
          s.probs = (T: number) => {
            const { std, lame } = s.rowProbs();
            let am = 0;
            for (let i = 1; i < std.length; i++) if (std[i] > std[am]) am = i;
            const flip = [0.3, 0.5, 0.7, 1.0].map((a) => {
              const q = contrast(std, lame, a, 0.1);
              if (!q) return 0;
              let k = 0;
              for (let i = 1; i < q.length; i++) if (q[i] > q[k]) k = i;
              return k === am ? 0 : 1;
            });
            rows.push({ u: uncertainty(std), top: std[am], flip });
            return probs(T);
          };
          return s;
        },
      });
    }
    rows.sort((a, c) => a.u - c.u);
    const q = (p: number) => rows[Math.min(rows.length - 1, Math.floor(p * rows.length))].u;
    console.log(`steps ${rows.length}; u quantiles 10/25/50/75/90%: ${[0.1, 0.25, 0.5, 0.75, 0.9].map((p) => q(p).toFixed(3)).join(' ')}`);
    for (const [lo, hi] of [[0, 0.05], [0.05, 0.1], [0.1, 0.15], [0.15, 0.2], [0.2, 0.3], [0.3, 0.4], [0.4, 1]]) {
      const s = rows.filter((x) => x.u >= lo && x.u < hi);
      if (!s.length) continue;
      const tops = s.map((x) => x.top).sort((a, c) => a - c);
      const flips = [0, 1, 2, 3].map((k) => s.reduce((acc, x) => acc + x.flip[k], 0) / s.length);
      console.log(`u in [${lo},${hi}): ${s.length} steps (${((100 * s.length) / rows.length).toFixed(0)}%), median top p ${tops[tops.length >> 1].toFixed(2)}, argmax flips a=.3/.5/.7/1: ${flips.map((f) => (100 * f).toFixed(0) + '%').join(' ')}`);
    }
  } else if (what === 'quality') {
    const cfgs = (extra || 'plain,0.5:0.2').split(',');
    for (const c of cfgs) {
      let em = 0;
      let sim = 0;
      let contrasted = 0;
      let steps = 0;
      const t0 = performance.now();
      for (const e of exs) {
        const r = req(e);
        let res;
        if (c === 'plain') res = await completeSingle(b, r, engine.budget);
        else {
          const [alpha, threshold] = c.split(':').map(Number);
          res = await completeUscdWith(b, { ...r, uscd: { enabled: true, alpha, threshold } }, engine.budget);
          contrasted += res.contrastedSteps ?? 0;
          steps += res.steps ?? 0;
        }
        if (res.completion.trimEnd() === e.target.trimEnd()) em++;
        sim += editSimilarity(res.completion.trimEnd(), e.target.trimEnd());
      }
      console.log(`${c}: exact ${em}/${exs.length} (${((100 * em) / exs.length).toFixed(1)}%), edit sim ${(sim / exs.length).toFixed(3)}, contrasted ${contrasted}/${steps}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } else if (what === 'latency') {
    const rounds = Number(extra || '3');
    // alpha 0 (default here): the two-row batch runs at every step but the tokens equal plain decoding,
    // so both sides decode the same number of tokens (USCD's full cost at equal work).
    const alpha = Number(process.argv[5] ?? 0);
    const ms = { plain: [] as number[], uscd: [] as number[] };
    let tokP = 0;
    let tokU = 0;
    // Warm-up, then interleave plain and USCD on the same prompt (alternating which goes first).
    await completeSingle(b, req(exs[0]), engine.budget);
    for (let k = 0; k < rounds; k++) {
      for (let i = 0; i < exs.length; i++) {
        b.cache.clear();
        const r = { ...req(exs[i]), stop: undefined, maxTokens: 24 };
        const runs: ['plain' | 'uscd', () => Promise<{ generatedTokens: number }>][] = [
          ['plain', () => completeSingle(b, r, engine.budget)],
          ['uscd', () => completeUscdWith(b, { ...r, uscd: { enabled: true, threshold: 0, alpha } }, engine.budget)],
        ];
        if ((i + k) % 2) runs.reverse();
        for (const [name, fn] of runs) {
          b.cache.clear();
          const t = performance.now();
          const res = await fn();
          ms[name].push(performance.now() - t);
          if (name === 'plain') tokP += res.generatedTokens;
          else tokU += res.generatedTokens;
        }
      }
    }
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const ratios = ms.plain.map((p, i) => ms.uscd[i] / p).sort((a, c) => a - c);
    console.log(`plain total ${sum(ms.plain).toFixed(0)} ms (${tokP} tokens), uscd total ${sum(ms.uscd).toFixed(0)} ms (${tokU} tokens)`);
    console.log(`ms/token: plain ${(sum(ms.plain) / tokP).toFixed(1)}, uscd ${(sum(ms.uscd) / tokU).toFixed(1)} (alpha ${alpha}, threshold 0)`);
    console.log(`ratio of totals ${(sum(ms.uscd) / sum(ms.plain)).toFixed(2)}, median per-prompt ratio ${ratios[ratios.length >> 1].toFixed(2)}`);
  }
  await engine.dispose();
}

if (require.main === module) main().catch((e) => {
  console.error(e);
  process.exit(1);
});
