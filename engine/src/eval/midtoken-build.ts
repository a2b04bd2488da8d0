// Builds the mid-token suite (engine/eval-data/midtoken.jsonl and its README): completion cases
// with the cursor inside a token, from code the bundled models never saw: the Python standard
// library and npm packages in node_modules that are not in the models' corpus list.
// Deterministic: sorted file lists and one seeded RNG; the same machine contents give the same file.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32, randInt, shuffled, type Rng } from '../core/rng';
import type { MidtokenRecord } from './midtoken';
import { codeMask, readReadableSource, walkFiles, type SourceLang } from './source-files';

export interface MidtokenBuildOptions {
  /** Repository root: node_modules is read from here. */
  repo: string;
  out: string;
  n: number;
  seed: number;
}

const PY_SHARE = 0.6;
const PREFIX_CHARS = 1500;
const SUFFIX_CHARS = 500;
const LIMITS = { maxFileBytes: 100_000, maxLineChars: 300 };

// Held out: present in node_modules, absent from the models' corpus list (checked by hand
// against the models' README, "Corpus packages").
const JS_PACKAGES = [
  'braces', 'cheerio', 'entities', 'fast-glob', 'glob', 'htmlparser2', 'js-yaml', 'json5',
  'jsonc-parser', 'linkify-it', 'lru-cache', 'markdown-it', 'micromatch', 'minimatch',
  'minipass', 'parse5', 'path-scurry', 'picomatch', 'semver', 'undici',
  'vscode-languageclient', 'vscode-languageserver-textdocument', 'web-tree-sitter', 'xml2js',
  'yauzl',
];
const SKIP_PY_DIRS = new Set(['test', 'tests', 'idle_test', 'site-packages', 'dist-packages', '__pycache__', '_bundled', 'lib2to3', 'turtledemo', 'config-3.11-x86_64-linux-gnu']);
// Build flavours of one module (src/x.ts, dist/esm/x.js, dist/commonjs/x.js) share a key.
const FLAVOUR_DIRS = new Set(['dist', 'lib', 'src', 'esm', 'cjs', 'commonjs', 'browser', 'umd', 'node', 'es', 'es6', 'module', 'mjs']);
const JS_EXT = /\.(ts|mts|cts|js|mjs|cjs)$/;

interface SourceFile {
  abs: string;
  rel: string;
  lang: SourceLang;
  /** Stdlib package or npm package: cases are picked round-robin across groups. */
  group: string;
}

interface Cursor {
  pos: number;
  kind: MidtokenRecord['cursor'];
  word: string;
  /** Characters of `word` already typed (identifier cursors). */
  k?: number;
}

function pythonStdlib(): { stdlib: string; version: string; files: SourceFile[] } {
  const script = "import sysconfig,sys,json;print(json.dumps([sysconfig.get_paths()['stdlib'], sys.version.split()[0]]))";
  const [stdlib, version] = JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8' })) as [string, string];
  const files = walkFiles(stdlib, (d) => SKIP_PY_DIRS.has(d) || d.startsWith('config-'))
    .filter((f) => f.endsWith('.py') && !/(^|\/)test_[^/]*\.py$/.test(f))
    .map((f) => {
      const rel = path.relative(stdlib, f);
      return { abs: f, rel: 'stdlib/' + rel, lang: 'python' as const, group: rel.split('/')[0].replace(/\.py$/, '') };
    });
  return { stdlib, version, files };
}

function flavourRank(rel: string): number {
  if (/\.(ts|mts|cts)$/.test(rel)) return 0; // original TypeScript first
  if (/\/(commonjs|cjs)\//.test(rel)) return 2;
  return 1 + rel.split('/').length / 100; // ties: the shallower path (lib/x.js over lib/esm/x.js)
}

function npmPackages(repo: string): { versions: Record<string, string>; files: SourceFile[] } {
  const files: SourceFile[] = [];
  const versions: Record<string, string> = {};
  for (const pkg of JS_PACKAGES) {
    const root = path.join(repo, 'node_modules', pkg);
    if (!fs.existsSync(root)) continue;
    versions[pkg] = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const rels = walkFiles(root, (d) => ['node_modules', 'test', 'tests', '__tests__', 'bin', 'generated'].includes(d))
      .map((f) => path.relative(root, f))
      .filter((f) => JS_EXT.test(f) && !/\.d\.[mc]?ts$/.test(f) && !/\.min\.js$/.test(f));
    const byKey = new Map<string, string>();
    for (const f of rels) {
      const key = f.split('/').filter((s) => !FLAVOUR_DIRS.has(s)).join('/').replace(JS_EXT, '');
      const prev = byKey.get(key);
      if (prev === undefined || flavourRank(f) < flavourRank(prev)) byKey.set(key, f);
    }
    for (const f of [...byKey.values()].sort())
      files.push({ abs: path.join(root, f), rel: `node_modules/${pkg}/${f}`, lang: /\.[mc]?ts$/.test(f) ? 'typescript' : 'javascript', group: pkg });
  }
  return { versions, files };
}

const IDENT = /[A-Za-z_$][A-Za-z0-9_$]*/g;

/** Cursor positions in code: inside identifiers (2+ typed, 2+ left) and right after a space before a word. */
function cursors(text: string, lang: SourceLang): { ident: Cursor[]; space: Cursor[] } {
  const mask = codeMask(text, lang);
  const ident: Cursor[] = [];
  const space: Cursor[] = [];
  for (const m of text.matchAll(IDENT)) {
    const s = m.index ?? 0;
    const w = m[0];
    if (lang === 'python' && w.includes('$')) continue;
    if (!mask[s] || !mask[s + w.length - 1]) continue;
    if (s > 0 && /[0-9]/.test(text[s - 1])) continue; // 1e5, 0x1f
    if (w.length >= 4) for (let k = 2; k <= w.length - 2; k++) ident.push({ pos: s + k, kind: 'identifier', word: w, k });
    // 'return |x': a space after a non-space character, before a word.
    if (s >= 2 && text[s - 1] === ' ' && !/\s/.test(text[s - 2]) && mask[s - 2]) space.push({ pos: s, kind: 'after-space', word: w });
  }
  return { ident, space };
}

function makeCase(file: SourceFile, text: string, cur: Cursor): MidtokenRecord | null {
  const { pos } = cur;
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  let lineEnd = text.indexOf('\n', pos);
  if (lineEnd < 0) lineEnd = text.length;
  const reference = text.slice(pos, lineEnd).replace(/\s+$/, '');
  if (reference.length < 2) return null;
  // Prefix: about PREFIX_CHARS, starting at a line start.
  let start = Math.max(0, pos - PREFIX_CHARS);
  if (start > 0) start = text.indexOf('\n', start - 1) + 1;
  if (start > lineStart) start = lineStart;
  const prefix = text.slice(start, pos);
  if (prefix.length < 100) return null;
  // Suffix: from the end of the line (its '\n') through whole lines, about SUFFIX_CHARS.
  let end = Math.min(text.length, lineEnd + SUFFIX_CHARS);
  if (end < text.length) {
    const nl = text.lastIndexOf('\n', end);
    end = nl > lineEnd ? nl + 1 : end;
  }
  const suffix = text.slice(lineEnd, end);
  const line = text.slice(0, pos).split('\n').length;
  const col = pos - lineStart + 1;
  const rec: MidtokenRecord = {
    id: `${file.lang === 'python' ? 'py' : 'js'}:${file.rel}:${line}:${col}`,
    lang: file.lang,
    cursor: cur.kind,
    file: file.rel,
    prefix,
    suffix,
    reference,
  };
  if (cur.kind === 'identifier') rec.restOfIdentifier = cur.word.slice(cur.k);
  return rec;
}

/** Visits groups round-robin in a seeded order, one seeded file per visit, one case per file, alternating cursor kinds. */
function pick(files: SourceFile[], count: number, rng: Rng): MidtokenRecord[] {
  const groups = new Map<string, SourceFile[]>();
  for (const f of files) {
    const g = groups.get(f.group);
    if (g) g.push(f);
    else groups.set(f.group, [f]);
  }
  const queues = shuffled([...groups.keys()].sort(), rng).map((g) => shuffled(groups.get(g) ?? [], rng));
  const out: MidtokenRecord[] = [];
  const used = new Set<string>();
  while (out.length < count && queues.some((q) => q.length)) {
    for (const q of queues) {
      if (out.length >= count) break;
      const f = q.shift();
      if (!f) continue;
      const text = readReadableSource(f.abs, LIMITS);
      if (!text) continue;
      const { ident, space } = cursors(text, f.lang);
      const want = out.length % 2 === 0 ? ident : space;
      const pool = want.length ? want : ident.length ? ident : space;
      for (let tries = 0; tries < 10 && pool.length; tries++) {
        const rec = makeCase(f, text, pool[randInt(rng, pool.length)]);
        if (rec && !used.has(rec.id)) {
          used.add(rec.id);
          out.push(rec);
          break;
        }
      }
    }
  }
  return out;
}

function tally<T>(xs: T[], key: (x: T) => string): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k} ${v}`).join(', ');
}

function readme(o: MidtokenBuildOptions, all: MidtokenRecord[], py: MidtokenRecord[], js: MidtokenRecord[], stdlib: string, pyVersion: string, jsVersions: Record<string, string>): string {
  return `# Mid-token evaluation suite

\`midtoken.jsonl\`: ${all.length} completion cases whose cursor sits inside a token, built by
\`npm run -s bytefill -- eval build-midtoken\` (seed ${o.seed}; deterministic given the same files).
Generated file: do not edit by hand; rebuild instead.

## Sources (held out from the bundled models' training corpus)
- Python ${pyVersion} standard library (\`${stdlib}\`), without test folders, \`test_*.py\`,
  lib2to3, turtledemo, site-packages: ${py.length} cases from ${new Set(py.map((r) => r.file)).size} files.
- npm packages in node_modules that are not in the corpus list of the models' README:
  ${Object.entries(jsVersions).map(([p, v]) => `${p}@${v}`).join(', ')}.
  ${js.length} cases (per package: ${tally(js, (r) => r.file.split('/')[1])}).
  Of the build flavours of one module (src/*.ts, dist/esm, dist/commonjs) only one is used,
  TypeScript sources first.
- Skipped: files over ${LIMITS.maxFileBytes} bytes, with any line over ${LIMITS.maxLineChars} characters, with '\\r',
  \`.min.js\`, \`.d.ts\`.

Languages: ${tally(all, (r) => r.lang)}. Cursor kinds: ${tally(all, (r) => r.cursor)}.

## Fields
- \`id\`: \`py|js:<file>:<line>:<column>\` (1-based; the cursor position).
- \`cursor\`: \`identifier\` — inside an identifier, at least 2 characters typed and 2 left
  (\`restOfIdentifier\` is the untyped tail); \`after-space\` — right after a space that follows
  a non-space character and precedes a word (\`return |value\`).
  Only positions in code count (not in comments or string literals, by a simple scanner).
- \`prefix\`: about ${PREFIX_CHARS} characters before the cursor, starting at a line start.
- \`reference\`: the rest of the cursor's line, trailing whitespace removed.
- \`suffix\`: from the end of that line (its newline) on, about ${SUFFIX_CHARS} characters of whole lines.
  \`prefix + reference + suffix\` is the original text except for the line's trailing whitespace.

Cases are grouped by stdlib package / npm package and picked round-robin across groups,
one per file, alternating cursor kinds; the file is in a seeded shuffled order, so its first
N lines are a fair sample. Load with \`loadMidtoken()\` (engine/src/eval/midtoken.ts).

## Files used
${[...new Set(all.map((r) => r.file))].sort().map((f) => `- ${f}`).join('\n')}
`;
}

/** Writes the suite and its README; returns the cases. */
export function buildMidtokenSuite(o: MidtokenBuildOptions): MidtokenRecord[] {
  const rng = mulberry32(o.seed);
  const { stdlib, version, files: pyFiles } = pythonStdlib();
  const { versions, files: jsFiles } = npmPackages(o.repo);
  const nPy = Math.round(o.n * PY_SHARE);
  const py = pick(pyFiles, nPy, rng);
  const js = pick(jsFiles, o.n - nPy, rng);
  const all = shuffled([...py, ...js], rng); // a seeded mix, so `--limit N` takes a fair sample
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, all.map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.writeFileSync(path.join(path.dirname(o.out), 'README.md'), readme(o, all, py, js, stdlib, version, versions));
  return all;
}
