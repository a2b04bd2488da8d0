// Pre-tokenizer patterns come from tokenizer.json, i.e. from whoever published the model. A
// pattern with catastrophic backtracking (`(?:[a-z]+)+[0-9]`) loads fine and then freezes the
// process on the first long identifier: JavaScript regexes cannot be interrupted. So patterns are
// checked before use, in two steps:
//   1. a static check of the pattern's shape: no repeated group that contains a quantifier or an
//      alternation (the exponential shapes), no backreferences, at most 3 unbounded quantifiers in
//      one sequence (polynomial blow-up), bounded length;
//   2. a probe: the compiled split runs on growing runs of each character class, and a pattern
//      whose time grows past a budget is rejected before any document sees it.
// Every real pattern we support (GPT-2, Llama-3, Qwen2, DeepSeek, GPT-4o) passes both; their
// matches are linear in the input. At run time each split also has a time budget checked between
// matches (a single match cannot be interrupted; the probe is what keeps single matches short).
import { BytefillError } from '../core/types';
import { TOKENIZER_LIMITS } from '../core/limits';

interface Quant {
  min: number;
  max: number; // Infinity when unbounded
}

interface Item {
  at: number; // index in the pattern
  group?: Alt[]; // a group's alternatives (absent for atoms)
  quant?: Quant;
}
type Alt = Item[];

class PatternError extends Error {}

/** Parses the subset of Oniguruma syntax tokenizer.json patterns use, enough to see their shape. */
function parse(p: string): Alt[] {
  let i = 0;
  const readQuant = (): Quant | undefined => {
    const c = p[i];
    let q: Quant | undefined;
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    else if (c === '{') {
      const m = /^\{(\d*)(,(\d*))?\}/.exec(p.slice(i));
      if (!m || (m[1] === '' && m[3] === undefined)) return undefined; // a literal '{'
      const min = m[1] === '' ? 0 : Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      i += m[0].length - 1;
      q = { min, max };
    }
    if (!q) return undefined;
    i++;
    if (p[i] === '?' || p[i] === '+') i++; // lazy / possessive
    return q;
  };
  const group = (depth: number): Alt[] => {
    if (depth > 50) throw new PatternError('groups nested more than 50 deep');
    const alts: Alt[] = [[]];
    while (i < p.length) {
      const c = p[i];
      const at = i;
      if (c === ')') {
        if (depth === 0) throw new PatternError(`unbalanced ')' at character ${i}`);
        return alts;
      }
      if (c === '|') {
        alts.push([]);
        i++;
        continue;
      }
      let item: Item;
      if (c === '(') {
        i++;
        if (p[i] === '?') {
          // (?:  (?i:  (?=  (?!  (?<=  (?<!  (?<name>  (?>  and inline flags (?i)
          const flags = /^\?[imx-]*\)/.exec(p.slice(i));
          if (flags) {
            i += flags[0].length;
            continue;
          }
          const head = /^\?(?:[imx-]*:|=|!|<=|<!|>|<[A-Za-z_]\w*>|P<[A-Za-z_]\w*>)/.exec(p.slice(i));
          if (!head) throw new PatternError(`unsupported group syntax at character ${at}`);
          i += head[0].length;
        }
        const alts2 = group(depth + 1);
        if (p[i] !== ')') throw new PatternError(`unclosed group at character ${at}`);
        i++;
        item = { at, group: alts2 };
      } else if (c === '[') {
        i = skipClass(p, i);
        item = { at };
      } else if (c === '\\') {
        const n = p[i + 1];
        if (n === undefined) throw new PatternError('pattern ends with a backslash');
        if (/[1-9]/.test(n) || n === 'k' || n === 'g') throw new PatternError(`backreference at character ${i} (backreferences can take exponential time)`);
        const m = /^\\[pPx]\{[^}]*\}|^\\x[0-9A-Fa-f]{2}|^\\u[0-9A-Fa-f]{4}|^\\./su.exec(p.slice(i));
        i += m![0].length;
        item = { at };
      } else {
        i += c.codePointAt(0)! > 0xffff ? 2 : 1;
        item = { at };
      }
      item.quant = readQuant();
      alts[alts.length - 1].push(item);
    }
    if (depth > 0) throw new PatternError('unclosed group');
    return alts;
  };
  const alts = group(0);
  if (i < p.length) throw new PatternError(`unbalanced ')' at character ${i}`);
  return alts;
}

/** Index just past the character class starting at p[i] === '['. */
function skipClass(p: string, i: number): number {
  const start = i;
  let depth = 0;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      depth++;
      if (p[i + 1] === '^') i++;
      if (p[i + 1] === ']') i++; // a leading ']' is literal
    } else if (c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new PatternError(`unclosed character class at character ${start}`);
}

const repeats = (q?: Quant) => !!q && q.max > 1;
const varies = (q?: Quant) => !!q && q.min !== q.max;

/** Whether any item inside `alts` has a variable quantifier, or there is an alternation. */
function ambiguous(alts: Alt[]): boolean {
  if (alts.length > 1) return true;
  return alts.some((alt) => alt.some((it) => varies(it.quant) || repeats(it.quant) || (it.group !== undefined && ambiguous(it.group))));
}

function checkShape(alts: Alt[]): void {
  for (const alt of alts) {
    let unbounded = 0;
    for (const it of alt) {
      if (it.quant?.max === Infinity) unbounded++;
      if (it.group) {
        if (repeats(it.quant) && ambiguous(it.group)) {
          throw new PatternError(
            `the repeated group at character ${it.at} contains a quantifier or an alternation (nested quantifiers backtrack catastrophically)`,
          );
        }
        checkShape(it.group);
      }
    }
    if (unbounded > 3) throw new PatternError(`${unbounded} unbounded quantifiers in one sequence (at most 3: more backtrack polynomially)`);
  }
}

/** Throws a PatternError-derived message when the pattern's shape can backtrack catastrophically. */
export function checkPatternShape(pattern: string): void {
  if (pattern.length > TOKENIZER_LIMITS.maxPatternLength) {
    throw new PatternError(`the pattern is ${pattern.length} characters long, over the limit of ${TOKENIZER_LIMITS.maxPatternLength}`);
  }
  checkShape(parse(pattern));
}

/** Strings that make backtracking patterns slow: long runs of one class, then a character that
 *  ends the match differently. */
const RUN_CHARS = ['a', 'A', 'aA', '1', ' ', '\t', '\n', '\r\n', '!', "'", '_', 'é', '中', '🙂', 'a1', 'a ', ' \n'];
const ENDINGS = ['', '!', ' ', 'a', '1', '\n', '\u0000'];
const PROBE_LENGTHS = [8, 12, 16, 20, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024, 2048];
/** A split of one probe string taking longer than this rejects the pattern (real patterns: well
 *  under 1 ms at the longest probe). */
export const PROBE_BUDGET_MS = 100;
/** Over-budget probes are repeated this many times; only a probe slow every time rejects. */
const PROBE_TRIES = 3;

/** Time of one call: the smaller of wall-clock and this process's CPU time, so neither being
 *  descheduled on a loaded machine (wall) nor other threads' work (CPU) counts against it. */
function timeOf(fn: () => unknown): number {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return Math.min(wall, (cpu.user + cpu.system) / 1000);
}

/**
 * Runs `split` on growing probes; throws PatternError when one stays slower than the budget.
 * Stops at the first slow probe, so a bad pattern costs at most a few times the budget.
 */
export function probeSplit(split: (s: string) => unknown, budgetMs = PROBE_BUDGET_MS): void {
  for (const n of PROBE_LENGTHS) {
    for (const run of RUN_CHARS) {
      const body = run.repeat(Math.ceil(n / run.length));
      for (const end of ENDINGS) {
        const probe = body + end;
        let ms = timeOf(() => split(probe));
        for (let k = 1; k < PROBE_TRIES && ms > budgetMs; k++) ms = Math.min(ms, timeOf(() => split(probe)));
        if (ms > budgetMs) {
          throw new PatternError(`it took ${Math.round(ms)} ms on a ${n}-character probe (budget ${budgetMs} ms): its matching time grows too fast`);
        }
      }
    }
  }
}

/**
 * Validates a tokenizer.json pattern (`where` names it, e.g. 'pre_tokenizer Split pattern') and
 * returns nothing or throws MODEL_INVALID. The probe needs the compiled split: see
 * checkCompiledSplit.
 */
export function assertSafePattern(pattern: string, where: string): void {
  try {
    checkPatternShape(pattern);
  } catch (e) {
    if (e instanceof PatternError) throw new BytefillError('MODEL_INVALID', `${where} rejected: ${e.message}`);
    throw e;
  }
}

export function checkCompiledSplit(split: (s: string) => unknown, where: string): void {
  try {
    probeSplit(split);
  } catch (e) {
    if (e instanceof PatternError) throw new BytefillError('MODEL_INVALID', `${where} rejected: ${e.message}`);
    throw e;
  }
}

/** Run-time budget of one split call, checked between matches: 1 s plus 1 ms per 1000 characters. */
export function splitBudgetMs(textLength: number): number {
  return 1000 + textLength / 1000;
}
