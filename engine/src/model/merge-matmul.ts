// One 4-bit matrix product instead of several on the same input. A decoder layer runs its q, k and
// v projections as separate MatMulNBits nodes that read the same activation; one node of their
// weights concatenated along N, followed by a Split, computes the same outputs (rows along N are
// independent: the same codes, scales and blocks, the activation quantized once). A decode step's
// small products are bound by each node's fixed cost, not by memory (BENCHMARKS.md: one q/k/v node
// took 0.65-0.70x the time of the three), so fewer, larger nodes bring the step closer to the
// bandwidth floor. The merged weights are copies (a tensor's external data is one contiguous
// range), embedded in the derived graph; the originals are dropped from it, so the session does
// not hold both.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '../core/types';
import { derivedDir, PreparedGraph, prepareDerivedGraph } from './derived-graph';
import { attribute, defaultOpset, Field, fields, int64Tensor, modelWithGraph, node, packedVarints, rawTensor, str, strings, Writer } from './onnx-proto';

/** Bumped when the rewrite changes, so that old cached graphs are not reused. */
const REWRITE_VERSION = 1;
/** Marks derived file names (derivedDir does not link them). */
export const MERGE_MARK = '.mm-';

/**
 * Only products of at most this many weights are merged. Small ones cost mostly each node's fixed
 * overhead (a 896x896 product read its weights at 0.2-0.3 of the memory bandwidth, a 896x4864 one
 * at 0.5-0.7); merging large ones (gate/up, 2 x 4.4M weights) gained less (0.90-0.93x) (BENCHMARKS.md).
 */
export const MAX_MERGED_WEIGHTS = 1 << 21;

export type MergeRewrite = { ok: true; model: Writer; groups: number; nodes: number } | { ok: false; reason: string };

interface NbitsNode {
  field: Field;
  inputs: string[];
  outputs: string[];
  /** K, bits, block_size, accuracy_level and any other attribute except N, as one key. */
  attrKey: string;
  N: number;
  K: number;
}

interface Initializer {
  field: Field;
  dims: number[];
  dataType: number;
  /** Raw little-endian bytes (from raw_data or the external data file). */
  data: () => Uint8Array;
}

function attrs(buf: Uint8Array, nf: Field[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of nf.filter((x) => x.num === 5)) {
    const af = fields(buf, a.valStart, a.valEnd);
    const name = af.find((x) => x.num === 1);
    const i = af.find((x) => x.num === 3);
    // Only integer attributes are understood: NaN marks any other (such a node is not merged).
    m.set(name ? str(buf, name) : '', i ? i.value : NaN);
  }
  return m;
}

/** An initializer's dims, type and bytes, or null when they are not raw (typed fields) or unreadable. */
function readInitializer(buf: Uint8Array, f: Field, dir: string): Initializer | null {
  const tf = fields(buf, f.valStart, f.valEnd);
  const dims: number[] = [];
  for (const d of tf.filter((x) => x.num === 1)) {
    if (d.wire === 0) dims.push(d.value);
    else dims.push(...packedVarints(buf, d));
  }
  const dataType = tf.find((x) => x.num === 2)?.value ?? 0;
  const raw = tf.find((x) => x.num === 9);
  if (raw) return { field: f, dims, dataType, data: () => buf.subarray(raw.valStart, raw.valEnd) };
  const ext = new Map<string, string>();
  for (const e of tf.filter((x) => x.num === 13)) {
    const ef = fields(buf, e.valStart, e.valEnd);
    const k = ef.find((x) => x.num === 1);
    const v = ef.find((x) => x.num === 2);
    if (k && v) ext.set(str(buf, k), str(buf, v));
  }
  const loc = ext.get('location');
  if (!loc || tf.find((x) => x.num === 14)?.value !== 1) return null;
  const file = path.resolve(dir, loc);
  // External data stays inside the graph's folder (as onnxruntime requires).
  if (path.relative(dir, file).startsWith('..')) return null;
  const offset = Number(ext.get('offset') ?? 0);
  const length = ext.has('length') ? Number(ext.get('length')) : fs.statSync(file).size - offset;
  return {
    field: f,
    dims,
    dataType,
    data: () => {
      const out = new Uint8Array(length);
      const fd = fs.openSync(file, 'r');
      try {
        let got = 0;
        while (got < length) {
          const n = fs.readSync(fd, out, got, length - got, offset + got);
          if (n <= 0) throw new Error(`${file}: external data ends before ${offset + length}`);
          got += n;
        }
      } finally {
        fs.closeSync(fd);
      }
      return out;
    },
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Merges the MatMulNBits nodes of the main graph that read the same input with the same
 * attributes (apart from N) and whose weights (B, scales, optional uint8 zero points) are
 * initializers used by that node alone: one node of the weights concatenated along N, then a
 * Split. `dir` is the graph's folder (for external data). `reason` says why a graph is left as it is.
 */
export function mergeParallelMatMulNBits(buf: Uint8Array, dir: string): MergeRewrite {
  const top = fields(buf);
  const graphF = top.find((f) => f.num === 7);
  if (!graphF) return { ok: false, reason: 'no graph' };
  const opset = defaultOpset(buf, top);
  if (opset < 13) return { ok: false, reason: `opset ${opset} < 13 (Split takes its sizes as an input from 13)` };
  const g = fields(buf, graphF.valStart, graphF.valEnd);

  // How often each value is read (a weight read elsewhere cannot be moved), and the initializers.
  const uses = new Map<string, number>();
  const inits = new Map<string, Field>();
  const nbits: NbitsNode[] = [];
  /** Add nodes by the value they add an initializer to: a bias that merges with its product. */
  const adds = new Map<string, { field: Field; bias: string; output: string }>();
  for (const f of g) {
    if (f.num === 5) {
      const n = fields(buf, f.valStart, f.valEnd).find((x) => x.num === 8);
      if (n) inits.set(str(buf, n), f);
    }
    if (f.num === 12) {
      // A graph output is a use too: its producer's output name must stay.
      const n = fields(buf, f.valStart, f.valEnd).find((x) => x.num === 1);
      if (n) uses.set(str(buf, n), (uses.get(str(buf, n)) ?? 0) + 1);
    }
    if (f.num !== 1) continue;
    const nf = fields(buf, f.valStart, f.valEnd);
    const inputs = strings(buf, nf, 1);
    for (const i of inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
    const op = nf.find((x) => x.num === 4);
    if (op && str(buf, op) === 'Add' && inputs.length === 2 && !nf.some((x) => x.num === 7 && x.valEnd > x.valStart)) {
      const outs = strings(buf, nf, 2);
      if (outs.length === 1) {
        adds.set(inputs[0], { field: f, bias: inputs[1], output: outs[0] });
        adds.set(inputs[1], { field: f, bias: inputs[0], output: outs[0] });
      }
    }
    const dom = nf.find((x) => x.num === 7);
    if (!op || str(buf, op) !== 'MatMulNBits' || !dom || str(buf, dom) !== 'com.microsoft') continue;
    const a = attrs(buf, nf);
    const N = a.get('N');
    const K = a.get('K');
    if (N === undefined || K === undefined || a.get('bits') !== 4 || [...a.values()].some(Number.isNaN)) continue;
    a.delete('N');
    const attrKey = [...a.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',');
    nbits.push({ field: f, inputs, outputs: strings(buf, nf, 2), attrKey, N, K });
  }
  if (nbits.length === 0) return { ok: false, reason: 'no 4-bit MatMulNBits nodes' };

  // Groups: same activation input, same attributes, same optional inputs, weights of their own.
  const mergeable = (n: NbitsNode): boolean =>
    n.outputs.length === 1 &&
    n.N * n.K <= MAX_MERGED_WEIGHTS &&
    (n.inputs.length === 3 || (n.inputs.length === 4 && n.inputs[3] !== '')) &&
    n.inputs.slice(1).every((w) => inits.has(w) && uses.get(w) === 1);
  const groups = new Map<string, NbitsNode[]>();
  for (const n of nbits) {
    if (!mergeable(n)) continue;
    const key = `${n.inputs[0]}|${n.attrKey}|${n.inputs.length}`;
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  const merged = [...groups.values()].filter((ns) => ns.length > 1);
  if (merged.length === 0) return { ok: false, reason: `none of ${nbits.length} MatMulNBits nodes shares its input with another of the same kind` };

  // The merged node and its Split take the place of the group's first node; the others go.
  const replace = new Map<Field, Writer[]>();
  const drop = new Set<Field>();
  const newInits: Writer[] = [];
  let nodes = 0;
  for (const [gi, ns] of merged.entries()) {
    const weights = ns[0].inputs.slice(1).map((_, w) => ns.map((n) => readInitializer(buf, inits.get(n.inputs[1 + w])!, dir)));
    if (weights.some((ws) => ws.some((x) => !x))) continue;
    const ws = weights as Initializer[][];
    // Concatenation along N is byte concatenation: every tensor is N rows of equal size (B is
    // [N, blocks, blob], scales [N * blocks] or [N, blocks], zero points [N * ceil(blocks / 2)]).
    const N = ns.reduce((a, n) => a + n.N, 0);
    const rowsOk = ws.every((w) => w.every((t, i) => t.dims.length > 0 && t.dims.reduce((a, b) => a * b, 1) % ns[i].N === 0 && t.dataType === w[0].dataType));
    if (!rowsOk) continue;
    const names: string[] = [];
    ws.forEach((w, k) => {
      const name = `${ns[0].inputs[1 + k]}.merged${gi}`;
      const first = w[0].dims;
      const perRow = first.reduce((a, b) => a * b, 1) / ns[0].N;
      const dims = first.length === 1 ? [N * perRow] : [N, ...first.slice(1)];
      newInits.push(rawTensor(name, w[0].dataType, dims, concat(w.map((t) => t.data()))));
      names.push(name);
      for (const t of w) drop.add(t.field);
    });
    const out = `${ns[0].outputs[0]}.merged${gi}`;
    // Biases added to every product of the group (q/k/v of Qwen2) are added once to the merged
    // product (onnxruntime then folds that Add into the MatMulNBits node, as it does for each
    // separate one); the Split gives the Adds' outputs.
    const biasAdds = ns.map((n) => adds.get(n.outputs[0]));
    const biases = biasAdds.every((a, i) => a && uses.get(ns[i].outputs[0]) === 1 && inits.has(a.bias) && uses.get(a.bias) === 1)
      ? biasAdds.map((a, i) => {
          const t = readInitializer(buf, inits.get(a!.bias)!, dir);
          return t && t.dims.length === 1 && t.dims[0] === ns[i].N && t.dataType === 1 ? t : null;
        })
      : [];
    const withBias = biases.length > 0 && biases.every((b) => b);
    const splitIn = withBias ? `${out}.biased` : out;
    let biasAdd: Writer | undefined;
    if (withBias) {
      const name = `${biasAdds[0]!.bias}.merged${gi}`;
      newInits.push(rawTensor(name, 1, [N], concat(biases.map((b) => b!.data()))));
      biasAdd = node('Add', [out, name], [splitIn], `Add_merged${gi}`);
      for (const b of biases) drop.add(b!.field);
      for (const a of biasAdds) drop.add(a!.field);
    }
    const mm = node('MatMulNBits', [ns[0].inputs[0], ...names], [out], `MatMulNBits_merged${gi}`).str(7, 'com.microsoft');
    const a = attrs(buf, fields(buf, ns[0].field.valStart, ns[0].field.valEnd));
    a.set('N', N);
    for (const [k, v] of a) mm.msg(5, attribute(k, v));
    const sizes = `${out}.sizes`;
    newInits.push(int64Tensor(sizes, ns.map((n) => BigInt(n.N)), [ns.length]));
    const outs = withBias ? biasAdds.map((a) => a!.output) : ns.map((n) => n.outputs[0]);
    const split = node('Split', [splitIn, sizes], outs, `Split_merged${gi}`).msg(5, attribute('axis', -1));
    replace.set(ns[0].field, biasAdd ? [mm, biasAdd, split] : [mm, split]);
    for (const n of ns.slice(1)) drop.add(n.field);
    nodes += ns.length;
  }
  if (replace.size === 0) return { ok: false, reason: 'no group of MatMulNBits nodes had weights that could be read and concatenated' };

  const graph = new Writer();
  for (const f of g) {
    const r = replace.get(f);
    if (r) for (const w of r) graph.msg(1, w);
    else if (!drop.has(f)) graph.raw(buf.subarray(f.start, f.end));
  }
  for (const t of newInits) graph.msg(5, t);
  return { ok: true, model: modelWithGraph(buf, top, graphF, graph), groups: replace.size, nodes };
}

/**
 * The graph a CPU session should load for `file` (the model's graph or one derived from it,
 * `source` being the model's own file) with parallel MatMulNBits nodes merged, from the cache when
 * possible. Any failure to write the cache returns `file` with one log line.
 */
export function prepareMergedMatMulGraph(file: string, log: Logger = () => undefined, source = file): PreparedGraph {
  return prepareDerivedGraph(
    file,
    {
      mark: MERGE_MARK,
      version: `mm${REWRITE_VERSION}`,
      rewrite: (buf) => {
        try {
          return mergeParallelMatMulNBits(buf, path.dirname(file));
        } catch (e) {
          return { ok: false, reason: `could not rewrite the graph (${(e as Error).message})` };
        }
      },
      // A derived graph already sits in a folder beside its weights; the model's own file gets one.
      // Without a cache folder the separate nodes load silently (the same logits), as for the
      // logits rewrite; the int8 rewrite has already said there is none.
      dir: (f) => (f === source ? derivedDir(f) : path.dirname(f)),
      what: 'merged-MatMulNBits graph',
      fallback: 'keeping the separate MatMulNBits nodes',
      done: (r, ms, out) => `merged ${r.nodes} MatMulNBits nodes into ${r.groups} of ${path.basename(file)} (${ms} ms): ${out}`,
    },
    log,
  );
}

/**
 * Whether CPU sessions merge parallel MatMulNBits nodes: the option, else BYTEFILL_MERGE_MATMUL=1.
 * Off by default: the decode step was 2-9% faster, but with int8 activations a 512-token prefill
 * left the process 336 MiB larger (onnxruntime's doing; not explained) (BENCHMARKS.md).
 */
export function mergeMatMulOn(option?: boolean): boolean {
  return option ?? process.env.BYTEFILL_MERGE_MATMUL === '1';
}
