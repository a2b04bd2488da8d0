// Builds engine/eval-data/crossfile.jsonl (`bytefill eval build-crossfile`): completion cases whose
// answer is defined in another file. Source: the HumanEval problems (Chen et al. 2021) as shipped
// in benchmarks/humaneval-infilling (MIT): each problem's whole function (prompt + canonical
// solution) is a definition in a module `helpers.py` (file A); file B imports the module and
// calls the function from a wrapper whose parameters and docstring line are the problem's:
//
//   import helpers
//
//
//   def run(numbers, threshold):
//       """Check if in given list of numbers, are any two numbers closer to each other than"""
//       return helpers.|has_close_elements(numbers, threshold)
//
// The name is only in file A. Cursor kinds alternate: 'after-dot' (the whole call is the answer)
// and 'mid-name' (three characters of the name typed: a mid-token cursor). Each case carries its
// context chunks, oldest first: the target function and another problem's (a distractor), in a
// seeded order. Deterministic: problems in id order, the project's seeded RNG.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32, randInt } from '../core/rng';
import { readHumanEvalSet } from './humaneval';
import type { CrossfileCase } from './crossfile';

export interface CrossfileBuildOptions {
  /** Folder of the HumanEval infilling files (default benchmarks/humaneval-infilling). */
  humanEvalDir?: string;
  out: string;
  n: number;
  seed: number;
}

/** Top-level comma split of a parameter list (annotations hold brackets with commas); names only. */
export function parameterNames(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if ('([{'.includes(ch)) depth++;
    if (')]}'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((p) => p.trim().split(/[:=]/)[0].trim()).filter((p) => p && !p.startsWith('*'));
}

interface Problem {
  task: string;
  name: string;
  params: string[];
  summary: string;
  source: string;
}

function problems(dir?: string): Problem[] {
  const byTask = new Map<string, Problem>();
  for (const r of readHumanEvalSet('single-line', dir)) {
    const task = /HumanEval\/\d+/.exec(r.task_id)![0];
    if (byTask.has(task)) continue;
    const lines = (r.prompt + r.canonical_solution + r.suffix).split('\n');
    const at = lines.findIndex((l) => l.startsWith(`def ${r.entry_point}(`));
    if (at < 0) continue;
    // The function: from its def to the next top-level statement.
    let end = at + 1;
    while (end < lines.length && (lines[end] === '' || /^\s/.test(lines[end]))) end++;
    const source = lines.slice(at, end).join('\n').replace(/\n+$/, '') + '\n';
    const header = /^def \w+\((.*)\)\s*(->.*)?:\s*$/.exec(lines[at]);
    if (!header) continue; // a signature over several lines
    const doc = /"""\s*([^\n]*)|'''\s*([^\n]*)/.exec(source);
    const summary = (doc?.[1] ?? doc?.[2] ?? '').trim().replace(/"""$/, '').trim();
    // The name must not leak into file B (the wrapper's docstring).
    if (!summary || r.entry_point.length < 5 || summary.includes(r.entry_point)) continue;
    byTask.set(task, { task, name: r.entry_point, params: parameterNames(header[1]), summary, source });
  }
  return [...byTask.values()].sort((a, b) => Number(a.task.split('/')[1]) - Number(b.task.split('/')[1]));
}

export function buildCrossfileSuite(opts: CrossfileBuildOptions): CrossfileCase[] {
  const rng = mulberry32(opts.seed);
  const list = problems(opts.humanEvalDir);
  const out: CrossfileCase[] = [];
  for (let i = 0; out.length < opts.n && i < list.length; i++) {
    const p = list[i];
    const cursor = i % 2 === 0 ? 'after-dot' : 'mid-name';
    let other = list[randInt(rng, list.length)];
    while (other === p) other = list[randInt(rng, list.length)];
    const call = `${p.name}(${p.params.join(', ')})`;
    const typed = cursor === 'mid-name' ? p.name.slice(0, 3) : '';
    const target = { path: 'helpers.py', text: p.source };
    const distractor = { path: 'helpers.py', text: other.source };
    const targetNewest = rng() < 0.5;
    out.push({
      id: `${p.task}/${cursor}`,
      lang: 'python',
      cursor,
      path: 'main.py',
      prefix: `import helpers\n\n\ndef run(${p.params.join(', ')}):\n    """${p.summary}"""\n    return helpers.${typed}`,
      suffix: '\n',
      reference: call.slice(typed.length),
      name: p.name,
      snippets: targetNewest ? [distractor, target] : [target, distractor],
    });
  }
  // A seeded shuffle, so that the first N are a fair sample.
  for (let i = out.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, out.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return out;
}
