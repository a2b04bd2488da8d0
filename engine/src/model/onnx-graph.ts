// A minimal ONNX model writer (protobuf wire format, only the fields used here), so the engine can
// build small helper graphs at run time without Python: the device-side KV operations
// (device-kv.ts) are such graphs, run by onnxruntime on the same execution provider as the model.
//
// Field numbers from onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
// ValueInfoProto, TypeProto.Tensor, TensorShapeProto, OperatorSetIdProto).

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

class Writer {
  private parts: number[] = [];

  varint(v: number): this {
    // Non-negative integers below 2^53 (all values written here).
    let n = v;
    while (n >= 0x80) {
      this.parts.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.parts.push(n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, build: (w: Writer) => void): this {
    const w = new Writer();
    build(w);
    return this.bytes(field, w.done());
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function valueInfo(w: Writer, v: ValueInfo): void {
  w.str(1, v.name);
  w.msg(2, (t) =>
    t.msg(1, (tt) => {
      tt.int(1, ELEM[v.type]);
      tt.msg(2, (shape) => {
        for (const d of v.dims) shape.msg(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.str(2, d)));
      });
    }),
  );
}

/** Serialises a single-graph ONNX model (default domain, opset 17 unless given). */
export function encodeModel(g: GraphSpec): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version 8
  w.str(2, 'bytefill');
  w.msg(7, (graph) => {
    g.nodes.forEach((n, i) => {
      graph.msg(1, (node) => {
        for (const x of n.inputs) node.str(1, x);
        for (const y of n.outputs) node.str(2, y);
        node.str(3, `${n.op}_${i}`);
        node.str(4, n.op);
        for (const [k, v] of Object.entries(n.ints ?? {})) {
          node.msg(5, (a) => a.str(1, k).int(3, v).int(20, 2)); // type INT
        }
      });
    });
    graph.str(2, g.name);
    for (const v of g.inputs) graph.msg(11, (x) => valueInfo(x, v));
    for (const v of g.outputs) graph.msg(12, (x) => valueInfo(x, v));
  });
  w.msg(8, (o) => o.str(1, '').int(2, g.opset ?? 17));
  return w.done();
}
