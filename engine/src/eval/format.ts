// Table cells: percentages, fixed decimals and paired differences, with '-' for a missing value.
const missing = (x: number | null | undefined): x is null | undefined => x === undefined || x === null || Number.isNaN(x);

/** 0.123 -> "12.3%"; null/undefined/NaN -> "-". */
export function fmtPct(x: number | null | undefined, digits = 1): string {
  return missing(x) ? '-' : `${(100 * x).toFixed(digits)}%`;
}

/** Fixed decimals; null/undefined/NaN -> "-". */
export function fmtNum(x: number | null | undefined, digits = 3): string {
  return missing(x) ? '-' : x.toFixed(digits);
}

/** Signed, as a difference: "+0.016", "-0.028". */
export function fmtSigned(x: number, digits = 3): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
}

/** A paired difference and its interval: "+0.016 [-0.015, 0.044]". */
export function fmtDiffCI(r: { diff: number; lo: number; hi: number }, digits = 3): string {
  return `${fmtSigned(r.diff, digits)} [${r.lo.toFixed(digits)}, ${r.hi.toFixed(digits)}]`;
}
