// Guards the LSP base protocol (Content-Length framing) on stdio before vscode-jsonrpc reads it.
// vscode-jsonrpc's reader trusts the header: a missing or negative Content-Length makes it fire an
// error and keep the rest of the bytes out of sync, and a Content-Length larger than the body
// makes it wait for bytes that never come, swallowing the following messages. Either way the
// connection was wedged for good with nothing logged. This stream passes on only well-formed
// frames; on a framing error it logs what it saw and resynchronises at the next header, so the
// server keeps answering (the broken message itself is lost).
import { Transform, TransformCallback } from 'node:stream';

const HEADER_END = Buffer.from('\r\n\r\n');
const SIGNATURE = Buffer.from('Content-Length:');
/** A header line as it can only occur between messages: raw CR LF never occurs inside JSON text. */
const HEADER_AT = /^Content-Length: *(\d+)\r\n/;
const MAX_HEADER_BYTES = 8 * 1024;

export interface FramingOptions {
  /** Largest body accepted (a frame announcing more is an error). */
  maxBodyBytes?: number;
  /** A message that stays incomplete this long with nothing more arriving is dropped. */
  partialTimeoutMs?: number;
  onError: (message: string) => void;
}

export class FramingGuard extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  /** Body bytes still expected for the current message, or -1 while reading a header. */
  private remaining = -1;
  private announced = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBody: number;
  private readonly partialMs: number;
  private readonly onError: (message: string) => void;
  /** Framing errors so far (for tests and status). */
  errors = 0;

  constructor(o: FramingOptions) {
    super();
    this.maxBody = o.maxBodyBytes ?? 512 * 1024 * 1024;
    this.partialMs = o.partialTimeoutMs ?? 10_000;
    this.onError = o.onError;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    try {
      this.drain();
    } catch (e) {
      this.fail(`unexpected framing state: ${(e as Error).message}`);
      this.buf = Buffer.alloc(0);
      this.remaining = -1;
    }
    this.armTimer();
    done();
  }

  override _flush(done: TransformCallback): void {
    this.clearTimer();
    if (this.buf.length) this.fail(`stream ended inside a message (${this.describePending()})`);
    done();
  }

  private fail(message: string): void {
    this.errors++;
    try {
      this.onError(`LSP framing error: ${message}`);
    } catch {
      // logging must not break the stream
    }
  }

  private describePending(): string {
    return this.remaining >= 0
      ? `Content-Length ${this.announced}, ${this.pendingBytes + this.buf.length} bytes received`
      : `${this.buf.length} bytes of an unfinished header`;
  }

  private drain(): void {
    for (;;) {
      if (this.remaining < 0) {
        if (!this.readHeader()) return;
      } else {
        if (!this.readBody()) return;
      }
    }
  }

  /** Parses one header block; false when more bytes are needed. */
  private readHeader(): boolean {
    if (this.buf.length === 0) return false;
    const head = this.buf.subarray(0, 64).toString('latin1');
    if (!/^[A-Za-z][A-Za-z0-9-]*:/.test(head)) {
      if (/^[A-Za-z][A-Za-z0-9-]*$/.test(head) && head.length < 64) return false; // a name still arriving
      return this.resync('bytes that are not a message header');
    }
    const end = this.buf.indexOf(HEADER_END);
    if (end < 0) {
      if (this.buf.length > MAX_HEADER_BYTES) return this.resync(`a header longer than ${MAX_HEADER_BYTES} bytes`);
      return false;
    }
    const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    let length: string | undefined;
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) return this.resync('a header line without a name');
      if (line.slice(0, colon).trim().toLowerCase() === 'content-length') length = line.slice(colon + 1).trim();
    }
    if (length === undefined) {
      this.buf = this.buf.subarray(end + HEADER_END.length);
      return this.resync('a message header without Content-Length');
    }
    if (!/^\d{1,12}$/.test(length)) {
      this.buf = this.buf.subarray(end + HEADER_END.length);
      return this.resync(`Content-Length '${length.slice(0, 24)}' is not a non-negative integer`);
    }
    const n = Number(length);
    if (n > this.maxBody) {
      this.buf = this.buf.subarray(end + HEADER_END.length);
      return this.resync(`Content-Length ${n} is over the limit of ${this.maxBody} bytes`);
    }
    // The header goes on together with its body, once the body is complete and sound: a frame
    // vscode-jsonrpc has started to read cannot be taken back.
    this.header = Buffer.from(this.buf.subarray(0, end + HEADER_END.length));
    this.buf = this.buf.subarray(end + HEADER_END.length);
    this.remaining = n;
    this.announced = n;
    this.scanned = 0;
    return true;
  }

  private header: Buffer = Buffer.alloc(0);
  /** Body bytes already searched for a following header. */
  private scanned = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Holds body bytes until the whole body is there; false when more bytes are needed. */
  private readBody(): boolean {
    // A following header inside the announced body means Content-Length was larger than the body.
    const take = Math.min(this.remaining, this.buf.length);
    const from = Math.max(0, this.scanned - SIGNATURE.length);
    const window = this.buf.subarray(0, take);
    let at = window.indexOf(SIGNATURE, from);
    while (at >= 0) {
      if (HEADER_AT.test(this.buf.subarray(at, at + 40).toString('latin1'))) {
        const got = this.pendingBytes + at;
        this.discardBody();
        this.buf = this.buf.subarray(at);
        this.fail(`Content-Length ${this.announced} is larger than the body: a new message header came after ${got} bytes; the cut message is dropped`);
        return true;
      }
      at = window.indexOf(SIGNATURE, at + 1);
    }
    this.scanned = take;
    if (take < this.remaining) {
      // Keep what we have and wait for the rest. The last bytes stay in `buf` so a header that
      // arrives split across two chunks is still seen whole by the next scan.
      const move = take - Math.min(take, 64);
      this.pending.push(this.buf.subarray(0, move));
      this.pendingBytes += move;
      this.remaining -= move;
      this.buf = this.buf.subarray(move);
      this.scanned = 0;
      return false;
    }
    const body = Buffer.concat([...this.pending, this.buf.subarray(0, take)]);
    this.buf = this.buf.subarray(take);
    this.discardBody();
    if (!looksLikeJsonObject(body)) {
      this.fail(`a ${body.length}-byte message body is not a JSON object (Content-Length smaller than the body?); dropped`);
      return true;
    }
    this.push(Buffer.concat([this.header, body]));
    return true;
  }

  private discardBody(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.remaining = -1;
    this.scanned = 0;
  }

  /** Drops bytes up to the next plausible header; logs what was dropped. Returns true to go on. */
  private resync(what: string): boolean {
    let at = -1;
    for (let i = this.buf.indexOf(SIGNATURE, 1); i >= 0; i = this.buf.indexOf(SIGNATURE, i + 1)) {
      if (HEADER_AT.test(this.buf.subarray(i, i + 40).toString('latin1'))) {
        at = i;
        break;
      }
    }
    const dropped = at < 0 ? this.buf.length : at;
    this.fail(`${what}; skipped ${dropped} bytes to the next message header`);
    this.buf = at < 0 ? Buffer.alloc(0) : this.buf.subarray(at);
    this.remaining = -1;
    return at >= 0;
  }

  private armTimer(): void {
    this.clearTimer();
    if (this.buf.length === 0 && this.remaining < 0) return;
    if (this.partialMs <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const what = this.describePending();
      this.fail(`incomplete message (${what}), nothing more for ${this.partialMs} ms; dropped`);
      this.buf = Buffer.alloc(0);
      this.discardBody();
    }, this.partialMs);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function looksLikeJsonObject(b: Buffer): boolean {
  let i = 0;
  let j = b.length - 1;
  while (i <= j && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  while (j >= i && (b[j] === 0x20 || b[j] === 0x0a || b[j] === 0x0d || b[j] === 0x09)) j--;
  return i < j && ((b[i] === 0x7b && b[j] === 0x7d) || (b[i] === 0x5b && b[j] === 0x5d));
}
