// Just enough of the ONNX protobuf format (onnx/onnx.proto) to read a graph's structure and write
// it back with a few nodes changed, and to write small graphs from scratch (the device KV graphs,
// the test fixtures' random models). Weights are never decoded: every field we do not change is
// copied as the byte range it occupies, and a message under construction is a list of chunks, so
// a graph with large weights is written without copying them into new buffers.

/** One field of a message: its number, wire type and byte ranges in the buffer. */
export interface Field {
  num: number;
  wire: number;
  /** Start of the key (the whole field is buf[start, end)). */
  start: number;
  end: number;
  /** Payload of a length-delimited field (wire 2). */
  valStart: number;
  valEnd: number;
  /** Value of a varint field (wire 0), as a number (exact below 2^53). */
  value: number;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
}

/** The fields of the message in buf[start, end), in file order. */
export function fields(buf: Uint8Array, start = 0, end = buf.length): Field[] {
  const out: Field[] = [];
  let pos = start;
  while (pos < end) {
    const fStart = pos;
    let key: number;
    [key, pos] = readVarint(buf, pos);
    const num = Math.floor(key / 8);
    const wire = key & 7;
    let value = 0;
    let valStart = pos;
    let valEnd = pos;
    if (wire === 0) [value, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len: number;
      [len, pos] = readVarint(buf, pos);
      valStart = pos;
      valEnd = pos + len;
      pos = valEnd;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (pos > end) throw new Error('truncated protobuf field');
    out.push({ num, wire, start: fStart, end: pos, valStart, valEnd, value });
  }
  return out;
}

/** The values of a packed repeated varint field (wire type 2). */
export function packedVarints(buf: Uint8Array, f: Field): number[] {
  const out: number[] = [];
  let pos = f.valStart;
  while (pos < f.valEnd) {
    let v: number;
    [v, pos] = readVarint(buf, pos);
    out.push(v);
  }
  return out;
}

/** The default domain's opset of a model (its top-level fields `top`), 0 when none is imported. */
export function defaultOpset(buf: Uint8Array, top: readonly Field[]): number {
  let opset = 0;
  for (const f of top.filter((x) => x.num === 8)) {
    const of = fields(buf, f.valStart, f.valEnd);
    const dom = of.find((x) => x.num === 1);
    const d = dom ? str(buf, dom) : '';
    if (d === '' || d === 'ai.onnx') opset = of.find((x) => x.num === 2)?.value ?? 0;
  }
  return opset;
}

const utf8 = new TextDecoder();
export function str(buf: Uint8Array, f: Field): string {
  return utf8.decode(buf.subarray(f.valStart, f.valEnd));
}

/** Strings of every field `num` of the message in buf[start, end). */
export function strings(buf: Uint8Array, fs: Field[], num: number): string[] {
  return fs.filter((f) => f.num === num).map((f) => str(buf, f));
}

// ---- writing -------------------------------------------------------------------------------

function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return Uint8Array.from(out);
}

/** A message under construction: a list of byte chunks (copied ranges stay views). */
export class Writer {
  readonly parts: Uint8Array[] = [];
  length = 0;

  raw(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }

  int(num: number, v: number | bigint): this {
    return this.raw(varint(BigInt(num * 8))).raw(varint(BigInt(v)));
  }

  /** A length-delimited field; a list of chunks is written as one field (their concatenation). */
  bytes(num: number, b: Uint8Array | readonly Uint8Array[]): this {
    const list = b instanceof Uint8Array ? [b] : b;
    let n = 0;
    for (const d of list) n += d.length;
    this.raw(varint(BigInt(num * 8 + 2))).raw(varint(BigInt(n)));
    for (const d of list) this.raw(d);
    return this;
  }

  /** A float field (wire type 5, little-endian float32). */
  float(num: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.raw(varint(BigInt(num * 8 + 5))).raw(b);
  }

  /** A packed repeated int64 field. */
  ints(num: number, vs: readonly (number | bigint)[]): this {
    return this.bytes(num, vs.map((v) => varint(BigInt(v))));
  }

  str(num: number, s: string): this {
    return this.bytes(num, new TextEncoder().encode(s));
  }

  msg(num: number, m: Writer): this {
    this.raw(varint(BigInt(num * 8 + 2))).raw(varint(BigInt(m.length)));
    for (const p of m.parts) this.raw(p);
    return this;
  }

  /** The message as one buffer (for small messages; large ones are written chunk by chunk). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const p of this.parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  }
}

/** TensorProto.DataType.INT64. */
/**
 * A model with its graph field (ModelProto field 7) replaced by `graph` and every other top-level
 * field copied as it is (`top`: the model's fields, `graphF` the graph's among them).
 */
export function modelWithGraph(buf: Uint8Array, top: readonly Field[], graphF: Field, graph: Writer): Writer {
  const model = new Writer();
  for (const f of top) {
    if (f === graphF) model.msg(7, graph);
    else model.raw(buf.subarray(f.start, f.end));
  }
  return model;
}

export const INT64 = 7;

/** An initializer with raw little-endian data (TensorProto: dims 1, data_type 2, name 8, raw_data 9). */
export function rawTensor(name: string, dataType: number, dims: readonly number[], data: Uint8Array): Writer {
  const t = new Writer();
  for (const d of dims) t.int(1, d);
  return t.int(2, dataType).str(8, name).bytes(9, data);
}

/** An int64 initializer. */
export function int64Tensor(name: string, values: bigint[], dims: number[]): Writer {
  const raw = new Uint8Array(8 * values.length);
  const dv = new DataView(raw.buffer);
  values.forEach((v, i) => dv.setBigInt64(8 * i, v, true));
  return rawTensor(name, INT64, dims, raw);
}

/** A NodeProto: input 1, output 2, name 3, op_type 4. */
export function node(op: string, inputs: readonly string[], outputs: readonly string[], name: string): Writer {
  const n = new Writer();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  return n.str(3, name).str(4, op);
}

/** An attribute value: INT, STRING, INTS, FLOAT or FLOATS. */
export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };

/** An AttributeProto: name 1, type 20, then f 2 | i 3 | s 4 | floats 7 | ints 8 (packed). */
export function attribute(name: string, v: AttrValue): Writer {
  const a = new Writer().str(1, name);
  if (typeof v === 'number') a.int(20, 2).int(3, v); // INT
  else if (typeof v === 'string') a.int(20, 3).str(4, v); // STRING
  else if (Array.isArray(v)) a.int(20, 7).ints(8, v); // INTS
  else if ('float' in v) a.int(20, 1).float(2, v.float); // FLOAT
  else {
    a.int(20, 6);
    for (const f of v.floats) a.float(7, f);
  }
  return a;
}

/** A GraphProto: node 1, name 2, initializer 5, input 11, output 12. */
export function graph(g: { name: string; nodes: readonly Writer[]; initializers?: readonly Writer[]; inputs: readonly Writer[]; outputs: readonly Writer[] }): Writer {
  const w = new Writer();
  for (const n of g.nodes) w.msg(1, n);
  w.str(2, g.name);
  for (const i of g.initializers ?? []) w.msg(5, i);
  for (const i of g.inputs) w.msg(11, i);
  for (const o of g.outputs) w.msg(12, o);
  return w;
}

/**
 * A ModelProto of IR version 8: ir_version 1, producer_name 2, opset_import 8 (the default domain
 * at `opset`, then each of `domains` at version 1), graph 7.
 */
export function model(m: { producer: string; opset: number; domains?: Iterable<string>; graph: Writer }): Writer {
  const w = new Writer().int(1, 8).str(2, m.producer);
  w.msg(8, new Writer().str(1, '').int(2, m.opset));
  for (const d of m.domains ?? []) w.msg(8, new Writer().str(1, d).int(2, 1));
  return w.msg(7, m.graph);
}

/** A ValueInfoProto of a tensor: name 1, type 2 -> TypeProto.tensor_type 1 -> elem_type 1, shape 2 -> dim 1 (dim_value 1 | dim_param 2). */
export function tensorValueInfo(name: string, elemType: number, dims: readonly (number | string)[] | null): Writer {
  const tt = new Writer().int(1, elemType);
  if (dims) {
    const shape = new Writer();
    for (const d of dims) shape.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().str(2, d));
    tt.msg(2, shape);
  }
  return new Writer().str(1, name).msg(2, new Writer().msg(1, tt));
}

/** elem_type and dims of a ValueInfoProto's tensor type (dims null when no shape is given). */
export function readTensorType(buf: Uint8Array, vi: Field): { elemType: number; dims: Array<number | string> | null } | null {
  const type = fields(buf, vi.valStart, vi.valEnd).find((f) => f.num === 2);
  if (!type) return null;
  const tensor = fields(buf, type.valStart, type.valEnd).find((f) => f.num === 1);
  if (!tensor) return null;
  const tf = fields(buf, tensor.valStart, tensor.valEnd);
  const elemType = tf.find((f) => f.num === 1)?.value ?? 0;
  const shape = tf.find((f) => f.num === 2);
  if (!shape) return { elemType, dims: null };
  const dims = fields(buf, shape.valStart, shape.valEnd)
    .filter((f) => f.num === 1)
    .map((d) => {
      const df = fields(buf, d.valStart, d.valEnd);
      const v = df.find((x) => x.num === 1);
      const p = df.find((x) => x.num === 2);
      return v ? v.value : p ? str(buf, p) : '?';
    });
  return { elemType, dims };
}
