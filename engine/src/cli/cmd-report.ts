import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytefillError, ensembleTable, EnsembleSet, EvalFile, modeTables, readEvalFile, runOf, UscdGroup, uscdTable } from '../index';
import { opt, parseArgs } from './args';

/** The file names the evaluation recipes (scripts/eval-*.sh) write into the results folder. */
export const RESULT_FILES = {
  modes: (model: string, set: string) => `eval-${model}-${set}.json`,
  ensemble: (ens: string, set: string, suffix = '') => `ens-${ens}-${set}${suffix}.json`,
  uscd: (model: string, alpha: number, threshold: number, set: string) => `uscd-${model}-a${alpha}-t${threshold}-${set}.json`,
};

const REPORTS = ['modes', 'ensemble', 'uscd'] as const;
type Report = (typeof REPORTS)[number];

/** Sets and settings of each table, as recorded in BENCHMARKS.md. */
const MODE_SETS = ['midtoken', 'single-line', 'random-span-light', 'random-span'];
const ENSEMBLE_SETS = ['single-line', 'random-span-light'];
/** random-span-light also ran the ensembles at a 280-byte budget (near the members' mean output). */
const ENSEMBLE_VARIANTS = [
  { suffix: '', note: '' },
  { suffix: '-280b', note: ', 280 bytes' },
];
const USCD_SETS = ['single-line', 'random-span'];
const USCD_SETTINGS = [
  { alpha: 0.5, threshold: 0.2 },
  { alpha: 0.3, threshold: 0.4 },
];

/**
 * report modes|ensemble|uscd [--dir .bench] [--models tiny-code-b,tiny-code-a]: prints a
 * BENCHMARKS.md table from the eval --out files the evaluation recipes wrote. Files a table row
 * needs but that are absent are skipped (a partial run prints a partial table); a table with no
 * file at all is an error.
 */
export async function runReport(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { flags: [], options: ['dir', 'models'] });
  const which = a.positional[0] as Report | undefined;
  if (!which || !REPORTS.includes(which)) throw new BytefillError('BAD_ARGUMENT', `report needs one of ${REPORTS.join(', ')}; got '${which ?? ''}'`);
  const dir = opt(a, 'dir') ?? '.bench';
  const models = (opt(a, 'models') ?? 'tiny-code-b,tiny-code-a').split(',').filter(Boolean);
  const files = new ResultsDir(dir);
  const text = which === 'modes' ? reportModes(files, models) : which === 'ensemble' ? reportEnsemble(files, models) : reportUscd(files, models);
  if (files.read === 0) throw new BytefillError('BAD_ARGUMENT', `no ${which} results in ${dir} (run the evaluation first; see BENCHMARKS.md)`);
  console.log(text);
  return 0;
}

class ResultsDir {
  read = 0;
  constructor(readonly dir: string) {}
  has(name: string): boolean {
    return fs.existsSync(path.join(this.dir, name));
  }
  load(name: string): EvalFile {
    this.read++;
    return readEvalFile(path.join(this.dir, name));
  }
}

function reportModes(files: ResultsDir, models: string[]): string {
  const out: string[] = [];
  for (const model of models) {
    const sets = MODE_SETS.filter((set) => files.has(RESULT_FILES.modes(model, set))).map((set) => ({ set, file: files.load(RESULT_FILES.modes(model, set)) }));
    if (sets.length) out.push(modeTables(model, sets));
  }
  return out.join('\n');
}

function reportEnsemble(files: ResultsDir, models: string[]): string {
  if (models.length !== 2) throw new BytefillError('BAD_ARGUMENT', `report ensemble needs --models with two members, got ${models.length}`);
  const sets: EnsembleSet[] = [];
  for (const set of ENSEMBLE_SETS) {
    if (!models.every((m) => files.has(RESULT_FILES.modes(m, set)))) continue;
    const member = (m: string) => ({ name: m, run: runOf(files.load(RESULT_FILES.modes(m, set)), 'byte', RESULT_FILES.modes(m, set)) });
    const ensembles = [];
    for (const { suffix, note } of ENSEMBLE_VARIANTS) {
      for (const ens of ['mixture', 'product']) {
        const f = RESULT_FILES.ensemble(ens, set, suffix);
        if (files.has(f)) ensembles.push({ name: `a+b ${ens}${note}`, run: runOf(files.load(f)) });
      }
    }
    sets.push({ set, members: [member(models[0]), member(models[1])], ensembles });
  }
  return ensembleTable(sets);
}

function reportUscd(files: ResultsDir, models: string[]): string {
  const groups: UscdGroup[] = [];
  for (const model of models) {
    for (const set of USCD_SETS) {
      const base = RESULT_FILES.modes(model, set);
      if (!files.has(base)) continue;
      const plain = runOf(files.load(base), 'byte', base);
      const settings = USCD_SETTINGS.filter((s) => files.has(RESULT_FILES.uscd(model, s.alpha, s.threshold, set))).map((s) => ({
        ...s,
        run: runOf(files.load(RESULT_FILES.uscd(model, s.alpha, s.threshold, set))),
      }));
      groups.push({ model, set, plain, settings });
    }
  }
  return uscdTable(groups);
}
