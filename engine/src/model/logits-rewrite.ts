// Only the logits that are needed. Exports of the onnx-community kind compute the LM head for
// every prompt position: for a 512-token prefill of a 151,936-id model that is 311 MB of logits
// and about a quarter of the arithmetic, all thrown away but the last row. This rewrites such a
// graph once: the final hidden state goes through Slice(-k:) on the sequence axis before the LM
// head, with k from a new int64 scalar input `num_logits_to_keep` (0 keeps every position: the
// Hugging Face convention, which OnnxModel already feeds). The result is cached in bytefill's cache
// folder (see derivedDir) and reused while the source file is unchanged.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '../core/types';
import { Field, fields, int64Tensor, node, readTensorType, str, strings, tensorValueInfo, Writer } from './onnx-proto';

/** Bumped when the rewrite changes, so that old cached graphs are not reused. */
const REWRITE_VERSION = 1;
export const KEEP_INPUT = 'num_logits_to_keep';
const PREFIX = 'bytefill_keep';

/** Ops that apply the LM head's weights (the last of them before `logits` is the head). */
const HEAD_OPS = new Set(['MatMul', 'Gemm', 'MatMulNBits', 'MatMulInteger', 'FusedMatMul', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul', 'QMoE']);
/** Ops between the final norm and the head that only reshape, cast or quantize per position. */
const PASS_OPS = new Set(['Reshape', 'Cast', 'DynamicQuantizeLinear', 'Flatten', 'Identity', 'QuantizeLinear']);

interface NodeInfo {
  field: Field;
  fs: Field[];
  op: string;
  inputs: string[];
  outputs: string[];
}

export type RewriteOutcome = { ok: true; model: Writer } | { ok: false; reason: string };

/** Rewrites a serialized ModelProto; `reason` says why a graph is left as it is. */
export function rewriteKeepLogits(buf: Uint8Array): RewriteOutcome {
  const top = fields(buf);
  const graphF = top.find((f) => f.num === 7);
  if (!graphF) return { ok: false, reason: 'no graph' };
  let opset = 0;
  for (const f of top.filter((x) => x.num === 8)) {
    const of = fields(buf, f.valStart, f.valEnd);
    const dom = of.find((x) => x.num === 1);
    const d = dom ? str(buf, dom) : '';
    if (d === '' || d === 'ai.onnx') opset = of.find((x) => x.num === 2)?.value ?? 0;
  }
  if (opset < 13) return { ok: false, reason: `opset ${opset} < 13` };

  const g = fields(buf, graphF.valStart, graphF.valEnd);
  const nodes: NodeInfo[] = g
    .filter((f) => f.num === 1)
    .map((f) => {
      const fs = fields(buf, f.valStart, f.valEnd);
      const opF = fs.find((x) => x.num === 4);
      return { field: f, fs, op: opF ? str(buf, opF) : '', inputs: strings(buf, fs, 1), outputs: strings(buf, fs, 2) };
    });
  const nameOf = (f: Field) => {
    const n = fields(buf, f.valStart, f.valEnd).find((x) => x.num === 1);
    return n ? str(buf, n) : '';
  };
  const inputs = g.filter((f) => f.num === 11).map(nameOf);
  if (inputs.includes(KEEP_INPUT) || inputs.includes('logits_to_keep')) return { ok: false, reason: 'the graph already has a logits-to-keep input' };
  const outputs = g.filter((f) => f.num === 12);
  const logitsOut = outputs.find((f) => nameOf(f) === 'logits');
  if (!logitsOut) return { ok: false, reason: 'no logits output' };
  const lt = readTensorType(buf, logitsOut);
  if (lt?.dims && lt.dims[1] === 1) return { ok: false, reason: 'the graph already computes the last position only' };

  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));

  // Every node `logits` depends on, and the nearest one that applies weights (the LM head).
  const ancestors = new Set<number>();
  let head = -1;
  const queue: number[] = [];
  const start = producer.get('logits');
  if (start === undefined) return { ok: false, reason: 'no node produces logits' };
  queue.push(start);
  ancestors.add(start);
  while (queue.length) {
    const i = queue.shift()!;
    if (head < 0 && HEAD_OPS.has(nodes[i].op)) head = i;
    for (const inp of nodes[i].inputs) {
      const p = producer.get(inp);
      if (p !== undefined && !ancestors.has(p)) {
        ancestors.add(p);
        queue.push(p);
      }
    }
  }
  if (head < 0) return { ok: false, reason: 'no LM head (MatMul/Gemm) found before logits' };

  // The hidden state the head reads, before any per-position reshape/cast/quantize.
  let x = nodes[head].inputs[0];
  for (let guard = 0; guard < 16; guard++) {
    const p = producer.get(x);
    if (p === undefined || !PASS_OPS.has(nodes[p].op)) break;
    x = nodes[p].inputs[0];
  }
  if (producer.get(x) === undefined) return { ok: false, reason: `the LM head reads ${x}, which no node produces` };
  if (outputs.some((f) => nameOf(f) === x)) return { ok: false, reason: `${x} is also a graph output` };
  const consumers = nodes.map((n, i) => (n.inputs.includes(x) ? i : -1)).filter((i) => i >= 0);
  if (consumers.some((i) => !ancestors.has(i))) return { ok: false, reason: `${x} is used by more than the LM head` };

  const kept = `${PREFIX}/hidden`;
  const newNodes = [
    node('Unsqueeze', [KEEP_INPUT, `${PREFIX}/axes0`], [`${PREFIX}/k`], `${PREFIX}/Unsqueeze`),
    node('Neg', [`${PREFIX}/k`], [`${PREFIX}/start`], `${PREFIX}/Neg`),
    node('Slice', [x, `${PREFIX}/start`, `${PREFIX}/end`, `${PREFIX}/axes1`], [kept], `${PREFIX}/Slice`),
  ];
  const firstConsumer = consumers[0];
  const graph = new Writer();
  let nodeIndex = -1;
  for (const f of g) {
    if (f.num === 1) {
      nodeIndex++;
      if (nodeIndex === firstConsumer) for (const n of newNodes) graph.msg(1, n);
      if (consumers.includes(nodeIndex)) {
        const n = new Writer();
        for (const nf of nodes[nodeIndex].fs) {
          if (nf.num === 1 && str(buf, nf) === x) n.str(1, kept);
          else n.raw(buf.subarray(nf.start, nf.end));
        }
        graph.msg(1, n);
        continue;
      }
    } else if (f === logitsOut) {
      const dims = lt?.dims ? [lt.dims[0], 'logits_positions', lt.dims[2]] : null;
      graph.msg(12, tensorValueInfo('logits', lt?.elemType ?? 1, dims));
      continue;
    }
    graph.raw(buf.subarray(f.start, f.end));
  }
  graph.msg(5, int64Tensor(`${PREFIX}/axes0`, [0n], [1]));
  graph.msg(5, int64Tensor(`${PREFIX}/end`, [BigInt('9223372036854775807')], [1]));
  graph.msg(5, int64Tensor(`${PREFIX}/axes1`, [1n], [1]));
  graph.msg(11, tensorValueInfo(KEEP_INPUT, 7, []));

  const model = new Writer();
  for (const f of top) {
    if (f === graphF) model.msg(7, graph);
    else model.raw(buf.subarray(f.start, f.end));
  }
  return { ok: true, model };
}

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
      if (name.endsWith('.onnx') || name.includes('.keep-') || name.includes('.ort-') || name.includes('.a4-')) continue;
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

/** The graph to load for `file`: rewritten to compute only the logits asked for, from the cache when possible. */
export function prepareKeepLogitsGraph(file: string, log: Logger = () => undefined): PreparedGraph {
  const base = path.basename(file, '.onnx');
  let dir: string;
  let stamp: string;
  try {
    stamp = sourceStamp(file, `keep${REWRITE_VERSION}`);
    dir = derivedDir(file);
  } catch (e) {
    return { file, rewritten: false, cached: false, reason: `no place to cache a rewritten graph (${(e as Error).message})` };
  }
  const out = path.join(dir, `${base}.keep-${stamp}.onnx`);
  const skipMark = `${out}.skip`;
  if (fs.existsSync(out)) return { file: out, rewritten: true, cached: true };
  if (fs.existsSync(skipMark)) return { file, rewritten: false, cached: true, reason: fs.readFileSync(skipMark, 'utf8') };
  const t0 = performance.now();
  const r = rewriteKeepLogits(fs.readFileSync(file));
  try {
    // Older rewrites of this graph are stale now.
    for (const name of fs.readdirSync(dir)) if (name.startsWith(`${base}.keep-`) && !name.startsWith(`${base}.keep-${stamp}`)) fs.rmSync(path.join(dir, name), { force: true });
    if (!r.ok) {
      fs.writeFileSync(skipMark, r.reason);
      return { file, rewritten: false, cached: false, reason: r.reason };
    }
    writeAtomic(out, r.model);
  } catch (e) {
    log('warn', `could not cache the rewritten graph of ${file} in ${dir}: ${(e as Error).message}; computing logits for every position`);
    return { file, rewritten: false, cached: false, reason: (e as Error).message };
  }
  log('info', `rewrote ${path.basename(file)} to compute only the logits asked for (${(performance.now() - t0).toFixed(0)} ms): ${out}`);
  return { file: out, rewritten: true, cached: false };
}
