// Loader for the mid-token suite built by `eval build-midtoken` (eval/midtoken-build.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findRepoRoot } from './paths';
import type { EvalCase } from './types';

/** One line of engine/eval-data/midtoken.jsonl. */
export interface MidtokenRecord {
  id: string;
  lang: 'python' | 'typescript' | 'javascript';
  /** 'identifier': cursor inside an identifier; 'after-space': cursor after a space before a word. */
  cursor: 'identifier' | 'after-space';
  file: string;
  prefix: string;
  suffix: string;
  reference: string;
  restOfIdentifier?: string;
}

export function defaultMidtokenPath(): string {
  return path.join(findRepoRoot(), 'engine', 'eval-data', 'midtoken.jsonl');
}

export function loadMidtoken(file: string = defaultMidtokenPath(), limit?: number): EvalCase[] {
  if (!fs.existsSync(file)) throw new Error(`mid-token suite not found: ${file} (build it with: npm run -s bytefill -- eval build-midtoken)`);
  const cases: EvalCase[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as MidtokenRecord;
    cases.push({
      id: r.id,
      prefix: r.prefix,
      suffix: r.suffix,
      reference: r.reference,
      kind: 'midtoken',
      lang: r.lang,
      tag: r.cursor,
      ...(r.restOfIdentifier !== undefined && { restOfIdentifier: r.restOfIdentifier }),
    });
  }
  // The file is already in a seeded shuffled order, so the first N are a fair sample.
  return limit === undefined ? cases : cases.slice(0, limit);
}
