// Just enough of the ONNX protobuf format (onnx/onnx.proto) to read a graph's structure and write
// it back with a few nodes changed. Weights are never decoded: every field we do not change is
// copied as the byte range it occupies, so a graph with embedded weights is rewritten without
// copying them into new buffers.

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

  bytes(num: number, b: Uint8Array): this {
    return this.raw(varint(BigInt(num * 8 + 2))).raw(varint(BigInt(b.length))).raw(b);
  }

  str(num: number, s: string): this {
    return this.bytes(num, new TextEncoder().encode(s));
  }

  msg(num: number, m: Writer): this {
    this.raw(varint(BigInt(num * 8 + 2))).raw(varint(BigInt(m.length)));
    for (const p of m.parts) this.raw(p);
    return this;
  }
}

/** TensorProto.DataType.INT64. */
export const INT64 = 7;

/** An int64 initializer (TensorProto: dims 1, data_type 2, name 8, raw_data 9). */
export function int64Tensor(name: string, values: bigint[], dims: number[]): Writer {
  const raw = new Uint8Array(8 * values.length);
  const dv = new DataView(raw.buffer);
  values.forEach((v, i) => dv.setBigInt64(8 * i, v, true));
  const t = new Writer();
  for (const d of dims) t.int(1, d);
  return t.int(2, INT64).str(8, name).bytes(9, raw);
}

/** A NodeProto: input 1, output 2, name 3, op_type 4. */
export function node(op: string, inputs: string[], outputs: string[], name: string): Writer {
  const n = new Writer();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  return n.str(3, name).str(4, op);
}

/** A ValueInfoProto of a tensor: name 1, type 2 -> TypeProto.tensor_type 1 -> elem_type 1, shape 2 -> dim 1 (dim_value 1 | dim_param 2). */
export function tensorValueInfo(name: string, elemType: number, dims: Array<number | string> | null): Writer {
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
