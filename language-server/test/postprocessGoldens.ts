// Reads the post-processing golden files (test/postprocess-goldens/<step>/<case>.txt; the format is
// described in that folder's README.md). A malformed file is an error naming the file and the fault.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PostprocessContext } from '../src/postprocess/types';

export const CURSOR = '║';

export interface Golden {
  /** `<step>/<case>` */
  name: string;
  /** Folder name: a pipeline step, or 'pipeline' for the whole pipeline. */
  step: string;
  ctx: PostprocessContext;
  completion: string;
  /** null: the completion must be dropped. */
  expected: string | null;
}

const SECTIONS = ['document', 'completion', 'expected', 'dropped'] as const;
type Section = (typeof SECTIONS)[number];

export function parseGolden(text: string, name: string): Omit<Golden, 'name' | 'step'> {
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  const meta = new Map<string, string>();
  const sections = new Map<Section, string[]>();
  let current: string[] | undefined;
  for (const line of lines) {
    const header = /^=== (\S+)$/.exec(line);
    if (header) {
      const s = header[1] as Section;
      if (!SECTIONS.includes(s)) throw new Error(`${name}: unknown section '=== ${header[1]}' (sections: ${SECTIONS.join(', ')})`);
      if (sections.has(s)) throw new Error(`${name}: section '${s}' appears twice`);
      current = [];
      sections.set(s, current);
    } else if (current) current.push(line);
    else if (line.startsWith('#') || line.trim() === '') continue;
    else {
      const m = /^([a-z]+):\s*(.*)$/.exec(line);
      if (!m) throw new Error(`${name}: expected 'key: value' before the first section, got '${line}'`);
      meta.set(m[1], m[2]);
    }
  }
  const body = (s: Section) => sections.get(s)?.join('\n');
  let document = body('document');
  let completion = body('completion');
  if (document === undefined || completion === undefined) throw new Error(`${name}: needs '=== document' and '=== completion' sections`);
  if (sections.has('expected') === sections.has('dropped')) throw new Error(`${name}: needs exactly one of '=== expected' and '=== dropped'`);
  const flag = (k: string) => {
    const v = meta.get(k) ?? 'false';
    if (v !== 'true' && v !== 'false') throw new Error(`${name}: '${k}' must be true or false, got '${v}'`);
    return v === 'true';
  };
  for (const k of meta.keys()) if (!['language', 'multiline', 'crlf'].includes(k)) throw new Error(`${name}: unknown key '${k}' (keys: language, multiline, crlf)`);
  if (flag('crlf')) {
    document = document.replace(/\n/g, '\r\n');
    completion = completion.replace(/\n/g, '\r\n');
  }
  const at = document.indexOf(CURSOR);
  if (at < 0 || document.indexOf(CURSOR, at + 1) >= 0) throw new Error(`${name}: the document needs exactly one cursor marker ${CURSOR}`);
  return {
    ctx: { languageId: meta.get('language') ?? 'plaintext', multiline: flag('multiline'), prefix: document.slice(0, at), suffix: document.slice(at + CURSOR.length) },
    completion,
    expected: sections.has('dropped') ? null : body('expected')!,
  };
}

/** Every golden under `root`, sorted by name. */
export function loadGoldens(root: string): Golden[] {
  const out: Golden[] = [];
  for (const step of fs.readdirSync(root).sort()) {
    const dir = path.join(root, step);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith('.txt')) continue;
      const name = `${step}/${f.slice(0, -4)}`;
      out.push({ name, step, ...parseGolden(fs.readFileSync(path.join(dir, f), 'utf8'), name) });
    }
  }
  return out;
}
