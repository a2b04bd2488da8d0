// A small argv parser: --name value, --flag, repeated options collect into arrays.
import { BytefillError } from '../index';

export interface ParsedArgs {
  positional: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
}

export function parseArgs(argv: string[], spec: { flags: string[]; options: string[] }): ParsedArgs {
  const out: ParsedArgs = { positional: [], options: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out.positional.push(a);
      continue;
    }
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (spec.flags.includes(name)) {
      out.flags.add(name);
      continue;
    }
    if (!spec.options.includes(name)) throw new BytefillError('BAD_ARGUMENT', `unknown option --${name}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new BytefillError('BAD_ARGUMENT', `option --${name} needs a value`);
    }
    const list = out.options.get(name) ?? [];
    list.push(value);
    out.options.set(name, list);
  }
  return out;
}

export function opt(a: ParsedArgs, name: string): string | undefined {
  const v = a.options.get(name);
  return v ? v[v.length - 1] : undefined;
}

/** Inclusive bounds for a numeric option. */
export type Range = readonly [number, number];

function rangeText(r: Range): string {
  return `${r[0]}..${r[1]}`;
}

/**
 * A non-negative integer option written in decimal digits (so "1e1", "0x10", " 5" and "" are
 * errors, not 10, 16, 5 and 0), optionally within `range`.
 */
export function intOpt(a: ParsedArgs, name: string, fallback?: number, range?: Range): number | undefined {
  const v = opt(a, name);
  if (v === undefined) return fallback;
  const n = /^\d{1,15}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new BytefillError('BAD_ARGUMENT', `--${name} must be a non-negative integer in decimal digits${range ? ` (${rangeText(range)})` : ''}, got '${v}'`);
  }
  if (range && (n < range[0] || n > range[1])) throw new BytefillError('BAD_ARGUMENT', `--${name} must be in ${rangeText(range)}, got ${n}`);
  return n;
}

/** A finite decimal number option (no hex, no empty string), optionally within `range`. */
export function numOpt(a: ParsedArgs, name: string, fallback?: number, range?: Range): number | undefined {
  const v = opt(a, name);
  if (v === undefined) return fallback;
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new BytefillError('BAD_ARGUMENT', `--${name} must be a number${range ? ` in ${rangeText(range)}` : ''}, got '${v}'`);
  if (range && (n < range[0] || n > range[1])) throw new BytefillError('BAD_ARGUMENT', `--${name} must be in ${rangeText(range)}, got ${n}`);
  return n;
}

export function oneOf<T extends string>(a: ParsedArgs, name: string, allowed: readonly T[], fallback: T): T {
  const v = opt(a, name) ?? fallback;
  if (!allowed.includes(v as T)) throw new BytefillError('BAD_ARGUMENT', `--${name} must be one of ${allowed.join(', ')}; got '${v}'`);
  return v as T;
}

/** Comma-separated list validated against allowed values (e.g. --mode token,byte). */
export function listOf<T extends string>(a: ParsedArgs, name: string, allowed: readonly T[], fallback: T[]): T[] {
  const raw = a.options.get(name);
  if (!raw) return fallback;
  const vals = raw.flatMap((r) => r.split(',')).filter(Boolean);
  for (const v of vals) if (!allowed.includes(v as T)) throw new BytefillError('BAD_ARGUMENT', `--${name} must be one of ${allowed.join(', ')}; got '${v}'`);
  return vals as T[];
}
