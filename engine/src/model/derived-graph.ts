// Graphs derived from a model's graph (the logits rewrite, integer activations, onnxruntime's
// optimised graph) and where they are cached: beside hard links to the model's external data,
// named after the source file's identity, written atomically, with a `.skip` mark recording why a
// graph needs no rewrite so that it is not parsed again on every load.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '../core/types';
import { Writer } from './onnx-proto';

/** Writes a message to `file` through a temporary file, so a reader never sees half of it. */
export function writeAtomic(file: string, w: Writer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const p of w.parts) fs.writeSync(fd, p);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Where derived graphs (rewritten, optimised) are cached. */
export function cacheRoot(): string {
  return process.env.BYTEFILL_CACHE_DIR || path.join(os.homedir(), '.cache', 'bytefill');
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A folder for files derived from `file` that must sit beside its external data. onnxruntime
 * refuses external data whose real path leaves the graph's folder, so a symbolic link (the
 * Hugging Face cache's snapshots are links into blobs/) will not do: the folder under cacheRoot()
 * holds hard links to the real files. Users' model folders and shared caches are never written;
 * only where hard links cannot be made (another file system) is a plain, writable model folder used.
 */
export function derivedDir(file: string): string {
  const dir = path.dirname(file);
  // Keyed like sourceStamp (the path as given): two paths to one file (a link) get folders of their
  // own, so one never removes the other's entries as stale.
  const key = crypto.createHash('sha1').update(path.resolve(file)).digest('hex').slice(0, 16);
  const out = path.join(cacheRoot(), 'graphs', key);
  try {
    fs.mkdirSync(out, { recursive: true });
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith('.onnx') || name.includes('.keep-') || name.includes('.ort-') || name.includes('.a4-') || name.includes('.tree-')) continue;
      const real = fs.realpathSync(path.join(dir, name));
      if (!fs.statSync(real).isFile()) continue;
      const link = path.join(out, name);
      if (!fs.existsSync(link)) fs.linkSync(real, link);
    }
    return out;
  } catch (e) {
    const plain = fs.readdirSync(dir).every((n) => !fs.lstatSync(path.join(dir, n)).isSymbolicLink());
    if (plain && writable(dir)) return dir;
    throw e;
  }
}

/** A stamp of the source file's identity (size, mtime) and the rewrite version. */
export function sourceStamp(file: string, extra = ''): string {
  const st = fs.statSync(file);
  return crypto.createHash('sha1').update(`${path.resolve(file)}|${st.size}|${st.mtimeMs}|${extra}`).digest('hex').slice(0, 12);
}

export interface PreparedGraph {
  /** The file to load: the rewritten graph, or the original when it needs no (or cannot take a) rewrite. */
  file: string;
  rewritten: boolean;
  /** Whether the rewrite was read from the cache. */
  cached: boolean;
  reason?: string;
}

/** One rewrite of a graph, cached by prepareDerivedGraph. */
export interface DerivedGraphSpec<R extends { ok: true; model: Writer }> {
  /** Marks the derived file's name: `<base><mark><stamp>.onnx` (derivedDir does not link such files). */
  mark: string;
  /** Part of the stamp: changes when the rewrite does, so that old cached graphs are not reused. */
  version: string;
  rewrite: (buf: Uint8Array) => R | { ok: false; reason: string };
  /** The cache folder (default: derivedDir(file)). */
  dir?: (file: string) => string;
  /** Logs a warning when there is no cache folder (default: the graph loads as it is, silently). */
  warnNoDir?: boolean;
  /** Why a cached graph cannot be used (it is then removed and the source loads this time), or null. */
  check?: (file: string) => string | null;
  /** For log lines: what the derived graph is ('rewritten graph'), and what loading the source instead means. */
  what: string;
  fallback: string;
  /** The info line for a graph just written. */
  done: (r: R, ms: string, out: string) => string;
}

/** The graph to load for `file`: spec's rewrite of it, from the cache when possible; `file` itself when it needs none or the cache fails. */
export function prepareDerivedGraph<R extends { ok: true; model: Writer }>(file: string, spec: DerivedGraphSpec<R>, log: Logger): PreparedGraph {
  const base = path.basename(file, '.onnx');
  let dir: string;
  let stamp: string;
  try {
    stamp = sourceStamp(file, spec.version);
    dir = (spec.dir ?? derivedDir)(file);
  } catch (e) {
    const msg = (e as Error).message;
    if (spec.warnNoDir) log('warn', `no place to cache the ${spec.what} of ${file} (${msg}); ${spec.fallback}`);
    return { file, rewritten: false, cached: false, reason: `no place to cache the ${spec.what} (${msg})` };
  }
  const out = path.join(dir, `${base}${spec.mark}${stamp}.onnx`);
  const skipMark = `${out}.skip`;
  if (fs.existsSync(out)) {
    const bad = spec.check?.(out) ?? null;
    if (!bad) return { file: out, rewritten: true, cached: true };
    // Removed, so that the next load writes it again.
    fs.rmSync(out, { force: true });
    log('warn', `the cached ${spec.what} ${out} is corrupt (${bad}); removed it, ${spec.fallback} this time`);
    return { file, rewritten: false, cached: false, reason: bad };
  }
  if (fs.existsSync(skipMark)) return { file, rewritten: false, cached: true, reason: fs.readFileSync(skipMark, 'utf8') };
  const t0 = performance.now();
  const r = spec.rewrite(fs.readFileSync(file));
  try {
    // Older derivations of this graph are stale now.
    for (const name of fs.readdirSync(dir)) if (name.startsWith(`${base}${spec.mark}`) && !name.startsWith(`${base}${spec.mark}${stamp}`)) fs.rmSync(path.join(dir, name), { force: true });
    if (!r.ok) {
      fs.writeFileSync(skipMark, r.reason);
      return { file, rewritten: false, cached: false, reason: r.reason };
    }
    writeAtomic(out, r.model);
  } catch (e) {
    log('warn', `could not cache the ${spec.what} of ${file} in ${dir}: ${(e as Error).message}; ${spec.fallback}`);
    return { file, rewritten: false, cached: false, reason: (e as Error).message };
  }
  log('info', spec.done(r, (performance.now() - t0).toFixed(0), out));
  return { file: out, rewritten: true, cached: false };
}
