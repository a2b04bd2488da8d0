// Held-out single-line infilling examples from a Python standard library (never in the bundled
// models' corpus): a line in the middle of a file, the cursor at its indentation or a few
// characters in, the target the rest of the line. Used by `bench uscd`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytefillError } from '../core/types';
import { mulberry32, randInt } from '../core/rng';

export interface LineExample {
  file: string;
  prefix: string;
  suffix: string;
  target: string;
}

/** This machine's Python standard library (/usr/lib/python3.N, lowest N), or undefined. */
export function findPythonStdlib(): string | undefined {
  if (!fs.existsSync('/usr/lib')) return undefined;
  const dir = fs.readdirSync('/usr/lib').filter((d) => /^python3\.\d+$/.test(d)).sort()[0];
  return dir ? path.join('/usr/lib', dir) : undefined;
}

/**
 * `n` examples drawn with the seeded RNG from the top-level .py files of `root`: files of at least
 * 60 lines, lines 30 from either end, 12-70 characters, not comments or string starts; prefix
 * the last 1500 characters before the cursor, suffix the next 600 after the line.
 */
export function heldOutLineExamples(root: string, n: number, seed = 7): LineExample[] {
  let files: string[];
  try {
    files = fs.readdirSync(root).filter((f) => f.endsWith('.py')).sort();
  } catch (e) {
    throw new BytefillError('BAD_ARGUMENT', `cannot list held-out Python files in ${root}: ${(e as Error).message}`);
  }
  if (files.length === 0) throw new BytefillError('BAD_ARGUMENT', `no .py files in ${root}`);
  const rng = mulberry32(seed);
  const out: LineExample[] = [];
  for (let guard = 0; out.length < n && guard < n * 50; guard++) {
    const file = files[randInt(rng, files.length)];
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
    if (lines.length < 60) continue;
    const li = 30 + randInt(rng, lines.length - 60);
    const line = lines[li];
    const t = line.trim();
    if (t.length < 12 || t.length > 70 || t.startsWith('#') || t.startsWith('"') || t.startsWith("'")) continue;
    const indent = line.length - line.trimStart().length;
    const cut = indent + (rng() < 0.5 ? 0 : 1 + randInt(rng, Math.min(8, t.length / 3)));
    const before = lines.slice(0, li).join('\n') + '\n' + line.slice(0, cut);
    const after = '\n' + lines.slice(li + 1).join('\n');
    out.push({ file, prefix: before.slice(-1500), suffix: after.slice(0, 600), target: line.slice(cut) });
  }
  return out;
}
