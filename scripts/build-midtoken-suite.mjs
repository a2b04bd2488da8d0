#!/usr/bin/env node
// Builds engine/eval-data/midtoken.jsonl: completion cases with the cursor in the middle of a
// token, from code the bundled models never saw (see models/README.md):
// the Python standard library, and npm packages in node_modules that are not in the corpus list.
// Deterministic: sorted file lists and a seeded PRNG; same machine contents -> same file.
//
//   node scripts/build-midtoken-suite.mjs [--out engine/eval-data/midtoken.jsonl] [--n 300] [--seed 20251126]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const OUT = path.resolve(repo, args.out ?? 'engine/eval-data/midtoken.jsonl');
const N = Number(args.n ?? 300);
const SEED = Number(args.seed ?? 20251126);
const PY_SHARE = 0.6;
const PREFIX_CHARS = 1500;
const SUFFIX_CHARS = 500;
const MAX_LINE = 300;
const MAX_FILE_BYTES = 100_000; // larger files are mostly bundles or generated tables

// Held out: present in node_modules, absent from the models' corpus list (checked by hand
// against models/README.md "Corpus packages").
const JS_PACKAGES = [
  'braces', 'cheerio', 'entities', 'fast-glob', 'glob', 'htmlparser2', 'js-yaml', 'json5',
  'jsonc-parser', 'linkify-it', 'lru-cache', 'markdown-it', 'micromatch', 'minimatch',
  'minipass', 'parse5', 'path-scurry', 'picomatch', 'semver', 'undici',
  'vscode-languageclient', 'vscode-languageserver-textdocument', 'web-tree-sitter', 'xml2js',
  'yauzl',
];

// mulberry32, as in engine/src/core/rng.ts (this script runs without a build)
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(SEED);
const randInt = (n) => Math.floor(rng() * n);
function shuffle(xs) {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = randInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function walk(dir, skipDir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!skipDir(e.name)) out.push(...walk(p, skipDir));
    } else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Readable source: no '\r', no line over MAX_LINE, not too big, not minified. */
function readSource(file) {
  if (fs.statSync(file).size > MAX_FILE_BYTES) return null;
  const text = fs.readFileSync(file, 'utf8');
  if (text.includes('\r') || text.includes('\uFFFD')) return null;
  if (text.split('\n').some((l) => l.length > MAX_LINE)) return null;
  return text;
}

// ---- sources ----
const pyInfo = JSON.parse(
  execFileSync('python3', ['-c', "import sysconfig,sys,json;print(json.dumps([sysconfig.get_paths()['stdlib'], sys.version.split()[0]]))"], {
    encoding: 'utf8',
  }),
);
const [stdlib, pyVersion] = pyInfo;
const SKIP_PY_DIRS = new Set(['test', 'tests', 'idle_test', 'site-packages', 'dist-packages', '__pycache__', '_bundled', 'lib2to3', 'turtledemo', 'config-3.11-x86_64-linux-gnu']);
const pyFiles = walk(stdlib, (d) => SKIP_PY_DIRS.has(d) || d.startsWith('config-'))
  .filter((f) => f.endsWith('.py') && !/(^|\/)test_[^/]*\.py$/.test(f))
  .map((f) => ({ abs: f, rel: 'stdlib/' + path.relative(stdlib, f), lang: 'python', group: path.relative(stdlib, f).split('/')[0].replace(/\.py$/, '') }));

// Build flavours of the same module (src/x.ts, dist/esm/x.js, dist/commonjs/x.js) share a key.
const FLAVOUR_DIRS = new Set(['dist', 'lib', 'src', 'esm', 'cjs', 'commonjs', 'browser', 'umd', 'node', 'es', 'es6', 'module', 'mjs']);
const JS_EXT = /\.(ts|mts|cts|js|mjs|cjs)$/;
function flavourRank(rel) {
  if (/\.(ts|mts|cts)$/.test(rel)) return 0; // original TypeScript first
  if (/\/(commonjs|cjs)\//.test(rel)) return 2;
  return 1 + rel.split('/').length / 100; // ties: the shallower path (lib/x.js over lib/esm/x.js)
}
const jsFiles = [];
const jsVersions = {};
for (const pkg of JS_PACKAGES) {
  const root = path.join(repo, 'node_modules', pkg);
  if (!fs.existsSync(root)) continue;
  jsVersions[pkg] = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  const files = walk(root, (d) => ['node_modules', 'test', 'tests', '__tests__', 'bin', 'generated'].includes(d))
    .map((f) => path.relative(root, f))
    .filter((f) => JS_EXT.test(f) && !/\.d\.[mc]?ts$/.test(f) && !/\.min\.js$/.test(f));
  const byKey = new Map();
  for (const f of files) {
    const key = f.split('/').filter((s) => !FLAVOUR_DIRS.has(s)).join('/').replace(JS_EXT, '');
    const prev = byKey.get(key);
    if (prev === undefined || flavourRank(f) < flavourRank(prev)) byKey.set(key, f);
  }
  for (const f of [...byKey.values()].sort())
    jsFiles.push({ abs: path.join(root, f), rel: `node_modules/${pkg}/${f}`, lang: /\.[mc]?ts$/.test(f) ? 'typescript' : 'javascript', group: pkg });
}

// ---- which characters are code (not comment or string) ----
function codeMask(text, lang) {
  const mask = new Uint8Array(text.length);
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (lang === 'python' && c === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if (lang !== 'python' && c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
    } else if (lang !== 'python' && c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
    } else if (c === '"' || c === "'" || (c === '`' && lang !== 'python')) {
      const triple = lang === 'python' && text.startsWith(c.repeat(3), i);
      const close = triple ? c.repeat(3) : c;
      i += close.length;
      while (i < n && !text.startsWith(close, i)) {
        if (text[i] === '\\') i++;
        else if (text[i] === '\n' && !triple && c !== '`') break; // unterminated: stop at line end
        i++;
      }
      i += close.length;
    } else {
      mask[i] = 1;
      i++;
    }
  }
  return mask;
}

// ---- cursor candidates ----
const IDENT = /[A-Za-z_$][A-Za-z0-9_$]*/g;
function candidates(text, lang) {
  const mask = codeMask(text, lang);
  const ident = [];
  const space = [];
  for (const m of text.matchAll(IDENT)) {
    const s = m.index;
    const w = m[0];
    if (lang === 'python' && w.includes('$')) continue;
    if (!mask[s] || !mask[s + w.length - 1]) continue;
    if (s > 0 && /[0-9.]/.test(text[s - 1]) && /[0-9]/.test(text[s - 1])) continue; // 1e5, 0x1f
    if (w.length >= 4) for (let k = 2; k <= w.length - 2; k++) ident.push({ pos: s + k, kind: 'identifier', word: w, k });
    // 'return |x': a space after a non-space character, before a word.
    if (s >= 2 && text[s - 1] === ' ' && !/\s/.test(text[s - 2]) && mask[s - 2]) space.push({ pos: s, kind: 'after-space', word: w });
  }
  return { ident, space };
}

function makeCase(file, text, cand) {
  const { pos } = cand;
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
  const rec = {
    id: `${file.lang === 'python' ? 'py' : 'js'}:${file.rel}:${line}:${col}`,
    lang: file.lang,
    cursor: cand.kind,
    file: file.rel,
    prefix,
    suffix,
    reference,
  };
  if (cand.kind === 'identifier') rec.restOfIdentifier = cand.word.slice(cand.k);
  return rec;
}

/**
 * Visits groups (stdlib packages / npm packages) round-robin in a seeded order, one seeded
 * file per visit, one case per file, alternating the cursor kind.
 */
function pick(files, count) {
  const groups = new Map();
  for (const f of files) {
    if (!groups.has(f.group)) groups.set(f.group, []);
    groups.get(f.group).push(f);
  }
  const queues = shuffle([...groups.keys()].sort()).map((g) => shuffle(groups.get(g)));
  const out = [];
  const used = new Set();
  while (out.length < count && queues.some((q) => q.length)) {
    for (const q of queues) {
      if (out.length >= count) break;
      const f = q.shift();
      if (!f) continue;
      const text = readSource(f.abs);
      if (!text) continue;
      const { ident, space } = candidates(text, f.lang);
      const want = out.length % 2 === 0 ? ident : space;
      const pool = want.length ? want : ident.length ? ident : space;
      for (let tries = 0; tries < 10 && pool.length; tries++) {
        const rec = makeCase(f, text, pool[randInt(pool.length)]);
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

const nPy = Math.round(N * PY_SHARE);
const py = pick(pyFiles, nPy);
const js = pick(jsFiles, N - nPy);
const all = shuffle([...py, ...js]); // a seeded mix, so `--limit N` takes a fair sample

fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, all.map((r) => JSON.stringify(r)).join('\n') + '\n');

// ---- README ----
const count = (xs, f) => xs.reduce((m, x) => ((m[f(x)] = (m[f(x)] ?? 0) + 1), m), {});
const byLang = count(all, (r) => r.lang);
const byKind = count(all, (r) => r.cursor);
const byPkg = count(js, (r) => r.file.split('/')[1]);
const readme = `# Mid-token evaluation suite

\`midtoken.jsonl\`: ${all.length} completion cases whose cursor sits inside a token, built by
\`node scripts/build-midtoken-suite.mjs\` (seed ${SEED}; deterministic given the same files).
Generated file: do not edit by hand; rebuild instead.

## Sources (held out from the bundled models' training corpus)
- Python ${pyVersion} standard library (\`${stdlib}\`), without test folders, \`test_*.py\`,
  lib2to3, turtledemo, site-packages: ${py.length} cases from ${new Set(py.map((r) => r.file)).size} files.
- npm packages in node_modules that are not in the corpus list of the models' README:
  ${Object.entries(jsVersions).map(([p, v]) => `${p}@${v}`).join(', ')}.
  ${js.length} cases (per package: ${Object.entries(byPkg).map(([p, c]) => `${p} ${c}`).join(', ')}).
  Of the build flavours of one module (src/*.ts, dist/esm, dist/commonjs) only one is used,
  TypeScript sources first.
- Skipped: files over ${MAX_FILE_BYTES} bytes, with any line over ${MAX_LINE} characters, with '\\r',
  \`.min.js\`, \`.d.ts\`.

Languages: ${Object.entries(byLang).map(([k, v]) => `${k} ${v}`).join(', ')}. Cursor kinds: ${Object.entries(byKind).map(([k, v]) => `${k} ${v}`).join(', ')}.

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
fs.writeFileSync(path.join(path.dirname(OUT), 'README.md'), readme);
console.log(`wrote ${all.length} cases to ${path.relative(repo, OUT)} (${JSON.stringify(byLang)} ${JSON.stringify(byKind)})`);
