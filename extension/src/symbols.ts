// Which symbols near the cursor get their definitions asked (pure: tested without an editor).

/** Identifiers before the cursor on its line whose definitions are asked. */
const SYMBOLS_PER_LINE = 3;

/** The identifiers on the cursor's line before it, nearest last, without the one being typed. */
export function symbolsBefore(lineText: string, character: number): { word: string; character: number }[] {
  const before = lineText.slice(0, character);
  const out: { word: string; character: number }[] = [];
  for (const m of before.matchAll(/[A-Za-z_$][A-Za-z0-9_$]*/g)) {
    const end = m.index! + m[0].length;
    if (end === character) continue; // still being typed: no definition yet
    out.push({ word: m[0], character: m.index! });
  }
  return out.slice(-SYMBOLS_PER_LINE);
}

