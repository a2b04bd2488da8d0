// Which external-data files an ONNX graph references, read straight from its protobuf without
// loading it: ModelProto.graph (7) -> GraphProto.initializer (5) -> TensorProto.external_data (13),
// entries {key: 1, value: 2} with key "location". Positional reads skip the weights themselves, so
// this costs a few thousand small reads even for a 2 GB graph.
import * as fs from 'node:fs';

class Reader {
  private readonly buf = Buffer.alloc(16);
  constructor(private readonly fd: number) {}

  varint(pos: number): [number, number] {
    const n = fs.readSync(this.fd, this.buf, 0, 10, pos);
    let v = 0;
    let mul = 1;
    for (let i = 0; i < n; i++) {
      const b = this.buf[i];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return [v, pos + i + 1];
      mul *= 128;
    }
    throw new Error(`bad varint at ${pos}`);
  }

  bytes(pos: number, len: number): Buffer {
    const b = Buffer.alloc(len);
    if (fs.readSync(this.fd, b, 0, len, pos) !== len) throw new Error(`short read at ${pos}`);
    return b;
  }

  /** Calls fn(field, start, end) for each length-delimited field of the message in [start, end). */
  fields(start: number, end: number, fn: (field: number, s: number, e: number) => void): void {
    let pos = start;
    while (pos < end) {
      const [tag, p1] = this.varint(pos);
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire === 0) pos = this.varint(p1)[1];
      else if (wire === 1) pos = p1 + 8;
      else if (wire === 5) pos = p1 + 4;
      else if (wire === 2) {
        const [len, p2] = this.varint(p1);
        fn(field, p2, p2 + len);
        pos = p2 + len;
      } else throw new Error(`unsupported wire type ${wire} at ${pos}`);
    }
    if (pos !== end) throw new Error('message overruns its length');
  }
}

/** Locations (relative to the graph's folder) of the external data a graph needs; null if unreadable. */
export function externalDataOf(file: string): string[] | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const r = new Reader(fd);
    const out = new Set<string>();
    r.fields(0, fs.fstatSync(fd).size, (f, s, e) => {
      if (f !== 7) return;
      r.fields(s, e, (gf, gs, ge) => {
        if (gf !== 5) return;
        r.fields(gs, ge, (tf, ts, te) => {
          if (tf !== 13 || te - ts > 4096) return;
          const entry = r.bytes(ts, te - ts);
          let key = '';
          let value = '';
          // The entry is tiny: parse it from memory.
          let p = 0;
          while (p < entry.length) {
            const tag = entry[p++];
            let len = 0;
            let mul = 1;
            for (;;) {
              const b = entry[p++];
              len += (b & 0x7f) * mul;
              if (b < 0x80) break;
              mul *= 128;
            }
            const str = entry.toString('utf8', p, p + len);
            p += len;
            if (tag === 0x0a) key = str;
            else if (tag === 0x12) value = str;
          }
          if (key === 'location' && value) out.add(value);
        });
      });
    });
    return [...out];
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
