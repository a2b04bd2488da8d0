// Small ONNX models described as plain data, so the engine can build helper graphs at run time
// without Python: the device-side KV operations (device-kv.ts) are such graphs, run by
// onnxruntime on the same execution provider as the model. The encoding is onnx-proto.ts's.

import { attribute, graph, model, node, tensorValueInfo, Writer } from './onnx-proto';

export type ElemType = 'float32' | 'float16' | 'int64';
const ELEM: Record<ElemType, number> = { float32: 1, int64: 7, float16: 10 };

export interface ValueInfo {
  name: string;
  type: ElemType;
  /** A number is a fixed size, a string a symbolic one. */
  dims: Array<number | string>;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes only (all that the helper graphs need). */
  ints?: Record<string, number>;
}

export interface GraphSpec {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  opset?: number;
}

function valueInfo(v: ValueInfo): Writer {
  return tensorValueInfo(v.name, ELEM[v.type], v.dims);
}

/** Serialises a single-graph ONNX model (default domain, opset 17 unless given). */
export function encodeModel(g: GraphSpec): Uint8Array {
  const nodes = g.nodes.map((n, i) => {
    const w = node(n.op, n.inputs, n.outputs, `${n.op}_${i}`);
    for (const [k, v] of Object.entries(n.ints ?? {})) w.msg(5, attribute(k, v));
    return w;
  });
  const body = graph({ name: g.name, nodes, inputs: g.inputs.map(valueInfo), outputs: g.outputs.map(valueInfo) });
  return model({ producer: 'bytefill', opset: g.opset ?? 17, graph: body }).toBytes();
}
