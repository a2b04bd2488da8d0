// Loads web-tree-sitter and the grammars (wasm) from disk: syntaxes/ next to the bundle
// (copied by scripts/bundle.mjs) or, in a development checkout, straight from node_modules.
import * as fs from 'fs';
import * as path from 'path';
import { Language, Parser } from 'web-tree-sitter';

/** VS Code language id -> grammar file name (from @vscode/tree-sitter-wasm). */
export const GRAMMAR_FILES: Record<string, string> = {
  python: 'tree-sitter-python.wasm',
  typescript: 'tree-sitter-typescript.wasm',
  typescriptreact: 'tree-sitter-tsx.wasm',
  javascript: 'tree-sitter-javascript.wasm',
  javascriptreact: 'tree-sitter-javascript.wasm',
};

export interface WasmLocations {
  runtime: string;
  grammarDir: string;
}

function findUp(start: string, rel: string): string | undefined {
  let dir = start;
  for (;;) {
    const p = path.join(dir, rel);
    if (fs.existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function locateWasm(start = __dirname): WasmLocations | undefined {
  const shipped = findUp(start, path.join('syntaxes', 'web-tree-sitter.wasm'));
  if (shipped && fs.existsSync(path.join(path.dirname(shipped), GRAMMAR_FILES.python))) {
    return { runtime: shipped, grammarDir: path.dirname(shipped) };
  }
  const runtime = findUp(start, path.join('node_modules', 'web-tree-sitter', 'web-tree-sitter.wasm'));
  const grammars = findUp(start, path.join('node_modules', '@vscode', 'tree-sitter-wasm', 'wasm'));
  if (runtime && grammars) return { runtime, grammarDir: grammars };
  return undefined;
}

let initPromise: Promise<WasmLocations> | undefined;
const languages = new Map<string, Promise<Language | null>>();

async function init(): Promise<WasmLocations> {
  if (!initPromise) {
    initPromise = (async () => {
      const loc = locateWasm();
      if (!loc) throw new Error('tree-sitter wasm files not found (expected syntaxes/ or node_modules)');
      await Parser.init({ locateFile: () => loc.runtime });
      return loc;
    })();
  }
  return initPromise;
}

// Own keys only: language ids come from the client, and `toString` or `__proto__` must not find
// Object.prototype's members.
function grammarFile(languageId: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(GRAMMAR_FILES, languageId) ? GRAMMAR_FILES[languageId] : undefined;
}

export function hasGrammar(languageId: string): boolean {
  return grammarFile(languageId) !== undefined;
}

/** The grammar for a language id, or null when there is none (or it failed to load). Cached. */
export function loadLanguage(languageId: string): Promise<Language | null> {
  const file = grammarFile(languageId);
  if (!file) return Promise.resolve(null);
  let p = languages.get(file);
  if (!p) {
    p = init().then((loc) => Language.load(path.join(loc.grammarDir, file)));
    languages.set(file, p);
  }
  return p;
}

export async function createParser(languageId: string): Promise<Parser | null> {
  const lang = await loadLanguage(languageId);
  if (!lang) return null;
  const parser = new Parser();
  parser.setLanguage(lang);
  return parser;
}
