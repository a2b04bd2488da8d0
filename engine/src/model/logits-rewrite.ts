// Only the logits that are needed. Exports of the onnx-community kind compute the LM head for
// every prompt position: for a 512-token prefill of a 151,936-id model that is 311 MB of logits
// and about a quarter of the arithmetic, all thrown away but the last row. This rewrites such a
// graph once: the final hidden state goes through Slice(-k:) on the sequence axis before the LM
// head, with k from a new int64 scalar input `num_logits_to_keep` (0 keeps every position: the
// Hugging Face convention, which OnnxModel already feeds). The result is cached in bytefill's cache
// folder (see derived-graph.ts) and reused while the source file is unchanged.
import * as path from 'node:path';
import { Logger } from '../core/types';
import { PreparedGraph, prepareDerivedGraph } from './derived-graph';
import { defaultOpset, Field, fields, int64Tensor, node, readTensorType, str, strings, tensorValueInfo, Writer, modelWithGraph } from './onnx-proto';

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
  const opset = defaultOpset(buf, top);
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

  const model = modelWithGraph(buf, top, graphF, graph);
  return { ok: true, model };
}

/** The graph to load for `file`: rewritten to compute only the logits asked for, from the cache when possible. */
export function prepareKeepLogitsGraph(file: string, log: Logger = () => undefined): PreparedGraph {
  return prepareDerivedGraph(
    file,
    {
      mark: '.keep-',
      version: `keep${REWRITE_VERSION}`,
      rewrite: rewriteKeepLogits,
      what: 'rewritten graph',
      fallback: 'computing logits for every position',
      done: (_r, ms, out) => `rewrote ${path.basename(file)} to compute only the logits asked for (${ms} ms): ${out}`,
    },
    log,
  );
}
