import * as fs from 'node:fs';
import { BytefillError, compare, EvalRecord } from '../index';
import { opt, parseArgs } from './args';

/**
 * compare A.json B.json [--a LABEL --b LABEL] | compare RUN.json --a LABEL --b LABEL:
 * per-metric means, the difference and its 95% paired bootstrap interval over shared cases.
 */
export async function runCompare(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { flags: [], options: ['a', 'b', 'seed'] });
  const files = a.positional;
  if (files.length < 1 || files.length > 2) throw new BytefillError('BAD_ARGUMENT', 'compare needs one or two eval --json files');
  const load = (f: string): EvalRecord[] => {
    try {
      return JSON.parse(fs.readFileSync(f, 'utf8')).records as EvalRecord[];
    } catch (e) {
      throw new BytefillError('BAD_ARGUMENT', `cannot read eval results ${f}: ${(e as Error).message}`);
    }
  };
  const recA = load(files[0]);
  const recB = files.length === 2 ? load(files[1]) : recA;
  const labels = (r: EvalRecord[]) => [...new Set(r.map((x) => x.label))];
  const la = opt(a, 'a') ?? labels(recA)[0];
  const lb = opt(a, 'b') ?? (files.length === 2 ? labels(recB)[0] : labels(recA)[1]);
  if (!la || !lb) throw new BytefillError('BAD_ARGUMENT', `name the two runs with --a and --b (labels here: ${labels(recA).join(', ')})`);
  const sel = (r: EvalRecord[], l: string) => {
    const out = r.filter((x) => x.label === l);
    if (out.length === 0) throw new BytefillError('BAD_ARGUMENT', `no records labelled '${l}' (labels: ${labels(r).join(', ')})`);
    return out;
  };
  console.log(compare({ label: la, records: sel(recA, la) }, { label: lb, records: sel(recB, lb) }, { seed: Number(opt(a, 'seed') ?? 1) }));
  return 0;
}
