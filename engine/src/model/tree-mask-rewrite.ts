// Several token branches on one context in ONE sequence (tree attention). A left-padded batch of B
// branches needs B copies of the context's past (KVState.expand, then the graph's Concat into
// `present`): at 900 context tokens that is 14 MB per row for tiny-code-b, and it dominated
// scoring long files. Packed into one row, the branches share the past; what keeps them apart is
// the attention mask, which the export builds from the 2D `attention_mask` and a causal triangle
// and combines with one boolean And. This rewrite replaces that And by a new input
// `bytefill_tree_mask` (bool [B, 1, T, S+T]: query t may attend to slot s), so the caller states
// the whole mask. Positions come from position_ids as before (RoPE is applied before the cache,
// so a slot keeps its position wherever it sits). Graphs whose mask is built otherwise (a fused
// attention op) are left alone; the caller then uses padded batches. Cached like the logits
// rewrite (derived-graph.ts).
import * as path from 'node:path';
import { Logger } from '../core/types';
import { PreparedGraph, prepareDerivedGraph } from './derived-graph';
import { fields, node, str, strings, tensorValueInfo, Writer, modelWithGraph } from './onnx-proto';

/** Bumped when the rewrite changes, so that old cached graphs are not reused. */
const REWRITE_VERSION = 2;
export const TREE_MASK_INPUT = 'bytefill_tree_mask';
/** TensorProto.DataType.BOOL. */
const BOOL = 9;
/** Ops whose outputs depend on their input's shape only. */
const SHAPE_OPS = new Set(['Shape', 'Size']);

export type TreeRewriteOutcome = { ok: true; model: Writer } | { ok: false; reason: string };

/** Rewrites a serialized ModelProto; `reason` says why a graph is left as it is. */
export function rewriteTreeMask(buf: Uint8Array): TreeRewriteOutcome {
  const top = fields(buf);
  const graphF = top.find((f) => f.num === 7);
  if (!graphF) return { ok: false, reason: 'no graph' };
  const g = fields(buf, graphF.valStart, graphF.valEnd);
  const nodes = g
    .filter((f) => f.num === 1)
    .map((f) => {
      const fs = fields(buf, f.valStart, f.valEnd);
      const opF = fs.find((x) => x.num === 4);
      return { field: f, op: opF ? str(buf, opF) : '', inputs: strings(buf, fs, 1), outputs: strings(buf, fs, 2) };
    });
  const inputNames = g.filter((f) => f.num === 11).map((f) => {
    const n = fields(buf, f.valStart, f.valEnd).find((x) => x.num === 1);
    return n ? str(buf, n) : '';
  });
  if (inputNames.includes(TREE_MASK_INPUT)) return { ok: false, reason: 'the graph already takes a tree mask' };
  if (!inputNames.includes('attention_mask') || !inputNames.includes('position_ids')) return { ok: false, reason: 'no attention_mask / position_ids inputs' };

  // Values derived from attention_mask, and from the causal triangle (a Range compared by LessOrEqual/GreaterOrEqual/...).
  // A Shape of the mask carries its length, not its values: exports that take the total length
  // from attention_mask's shape (the causal triangle's Range) would otherwise mark the triangle
  // as padding too, and no And would join the two.
  const fromMask = new Set(['attention_mask']);
  const fromCausal = new Set<string>();
  for (const n of nodes) {
    if (!SHAPE_OPS.has(n.op) && n.inputs.some((i) => fromMask.has(i))) n.outputs.forEach((o) => fromMask.add(o));
    if (['LessOrEqual', 'Less', 'GreaterOrEqual', 'Greater'].includes(n.op) || n.inputs.some((i) => fromCausal.has(i))) n.outputs.forEach((o) => fromCausal.add(o));
  }
  // The one And that joins the padding mask and the causal mask.
  const joins = nodes.filter((n) => n.op === 'And' && n.inputs.some((i) => fromMask.has(i) && !fromCausal.has(i)) && n.inputs.some((i) => fromCausal.has(i) && !fromMask.has(i)));
  if (joins.length !== 1) return { ok: false, reason: `${joins.length} And nodes join the padding and causal masks (1 expected)` };
  const join = joins[0];

  const graph = new Writer();
  for (const f of g) {
    if (f === join.field) {
      graph.msg(1, node('Identity', [TREE_MASK_INPUT], [join.outputs[0]], 'bytefill_tree/Identity'));
      continue;
    }
    graph.raw(buf.subarray(f.start, f.end));
  }
  graph.msg(11, tensorValueInfo(TREE_MASK_INPUT, BOOL, ['batch_size', 1, 'sequence_length', 'total_sequence_length']));
  const model = modelWithGraph(buf, top, graphF, graph);
  return { ok: true, model };
}

/** The tree-mask graph for `file` (from the cache when possible); `file` itself with a reason when it cannot be rewritten. */
export function prepareTreeMaskGraph(file: string, log: Logger = () => undefined): PreparedGraph {
  return prepareDerivedGraph(
    file,
    {
      mark: '.tree-',
      version: `tree${REWRITE_VERSION}`,
      rewrite: rewriteTreeMask,
      what: 'tree-mask graph',
      fallback: 'scoring branches as padded batches',
      done: (_r, ms, out) => `rewrote ${path.basename(file)} to take a tree attention mask (${ms} ms): ${out}`,
    },
    log,
  );
}
