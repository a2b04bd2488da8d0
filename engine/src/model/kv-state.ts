// The past (KV cache) of a batch. Immutable: every operation returns a new KVState with new
// tensors, so a state held by a cache can be shared with callers that extend it.
//
// Slot layout: tensors are [B, Hkv, S, D]; slot s of row b is a real token when mask[b*S+s] = 1
// (rows may hold padding slots from left-padded forward calls). nextPos[b] is the position id the
// next token of row b gets (= number of real tokens so far).
//
// Device tensors (location 'gpu-buffer', webgpu) cannot be read from JS at all (see device-kv.ts):
// the synchronous select/expand/truncate/stack throw UNSUPPORTED for them. Their async variants
// (selectAsync, expandAsync, truncateAsync) work on both and keep a device state on the device;
// `await state.toHost()` downloads one through onnxruntime. forward accepts either kind.

import * as ort from './ort';
import { BytefillError } from '../core/types';
import { DeviceKV, range } from './device-kv';

export type KVDType = 'float32' | 'float16';
type KVArray = Float32Array | Uint16Array;

export interface KVShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  dtype: KVDType;
}

function alloc(dtype: KVDType, n: number): KVArray {
  return dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n);
}

export class KVState {
  /** Set by PrefixCache: dispose() of a cached state is ignored (the cache owns it). */
  pinned = false;

  constructor(
    readonly shape: KVShape,
    readonly batch: number,
    /** S: slots per row, padding slots included. */
    readonly length: number,
    /** [batch*S], 1 = real token. */
    readonly mask: Uint8Array,
    /** [batch], position id of the next token of each row. */
    readonly nextPos: Int32Array,
    /** 2*numLayers tensors [B,Hkv,S,D]: key, value of layer 0, then layer 1, ... */
    readonly tensors: ort.Tensor[],
    /** Operations for device tensors (set by the model that made them on a GPU provider). */
    readonly device?: DeviceKV,
  ) {}

  static empty(shape: KVShape, batch: number): KVState {
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * shape.numLayers; i++) {
      tensors.push(new ort.Tensor(shape.dtype, alloc(shape.dtype, 0), [batch, shape.numKvHeads, 0, shape.headDim]));
    }
    return new KVState(shape, batch, 0, new Uint8Array(0), new Int32Array(batch), tensors);
  }

  get onDevice(): boolean {
    return this.tensors.some((t) => t.location !== 'cpu');
  }

  /** Real tokens of row b. */
  tokens(b: number): number {
    return this.nextPos[b];
  }

  private hostData(): KVArray[] {
    if (this.onDevice) {
      throw new BytefillError('UNSUPPORTED', 'KVState holds device tensors: use selectAsync/expandAsync/truncateAsync, or `await state.toHost()` first');
    }
    return this.tensors.map((t) => t.data as KVArray);
  }

  /**
   * A host copy of a device state (the same state for a host one). Downloads through onnxruntime
   * (DeviceKV); tensor.getData() must never be used on these tensors: it aborts the process.
   */
  async toHost(): Promise<KVState> {
    if (!this.onDevice) return this;
    if (!this.device) throw new BytefillError('UNSUPPORTED', 'KVState holds device tensors but no device operations to download them');
    const ts = await this.device.take(this.tensors, range(this.batch), range(this.length), 'cpu');
    return new KVState(this.shape, this.batch, this.length, this.mask, this.nextPos, ts);
  }

  private checkRows(rows: number[]): void {
    if (rows.length === 0) throw new BytefillError('BAD_ARGUMENT', 'KVState.select needs at least one row');
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.batch) throw new BytefillError('BAD_ARGUMENT', `KVState.select: row ${r} out of range [0, ${this.batch})`);
    }
  }

  private selectedMeta(rows: number[]): { mask: Uint8Array; nextPos: Int32Array } {
    const S = this.length;
    const mask = new Uint8Array(rows.length * S);
    const nextPos = new Int32Array(rows.length);
    rows.forEach((r, i) => {
      mask.set(this.mask.subarray(r * S, (r + 1) * S), i * S);
      nextPos[i] = this.nextPos[r];
    });
    return { mask, nextPos };
  }

  private checkExpand(n: number): void {
    if (this.batch !== 1) throw new BytefillError('BAD_ARGUMENT', `KVState.expand needs batch 1 (got ${this.batch})`);
    if (!Number.isInteger(n) || n < 1) throw new BytefillError('BAD_ARGUMENT', `KVState.expand: n must be a positive integer (got ${n})`);
  }

  private checkTruncate(len: number): void {
    if (this.batch !== 1) throw new BytefillError('BAD_ARGUMENT', `KVState.truncate needs batch 1 (got ${this.batch})`);
    if (!Number.isInteger(len) || len < 0 || len > this.length) throw new BytefillError('BAD_ARGUMENT', `KVState.truncate: length ${len} out of range [0, ${this.length}]`);
  }

  private truncatedMeta(len: number): { mask: Uint8Array; nextPos: Int32Array } {
    const mask = this.mask.slice(0, len);
    let real = 0;
    for (let s = 0; s < len; s++) real += mask[s];
    return { mask, nextPos: Int32Array.of(real) };
  }

  /** Gathers rows (indices may repeat) into a new batch. */
  select(rows: number[]): KVState {
    this.checkRows(rows);
    const { numKvHeads: H, headDim: D, dtype } = this.shape;
    const S = this.length;
    const block = H * S * D;
    const data = this.hostData();
    const tensors = data.map((src) => {
      const dst = alloc(dtype, rows.length * block);
      rows.forEach((r, i) => dst.set(src.subarray(r * block, (r + 1) * block), i * block));
      return new ort.Tensor(dtype, dst, [rows.length, H, S, D]);
    });
    const { mask, nextPos } = this.selectedMeta(rows);
    return new KVState(this.shape, rows.length, S, mask, nextPos, tensors, this.device);
  }

  /** Batch 1 -> n identical rows. */
  expand(n: number): KVState {
    this.checkExpand(n);
    // Immutable: one row of a batch-1 state is the state itself (no copy of the whole cache).
    if (n === 1) return this;
    return this.select(new Array<number>(n).fill(0));
  }

  /** Keeps the first `len` slots (batch 1; with padding, nextPos counts the real ones kept). */
  truncate(len: number): KVState {
    this.checkTruncate(len);
    if (len === this.length) return this;
    const { numKvHeads: H, headDim: D, dtype } = this.shape;
    const S = this.length;
    const data = this.hostData();
    const tensors = data.map((src) => {
      const dst = alloc(dtype, H * len * D);
      for (let h = 0; h < H; h++) dst.set(src.subarray(h * S * D, h * S * D + len * D), h * len * D);
      return new ort.Tensor(dtype, dst, [1, H, len, D]);
    });
    const { mask, nextPos } = this.truncatedMeta(len);
    return new KVState(this.shape, 1, len, mask, nextPos, tensors, this.device);
  }

  /** select() for host and device states; a device state's result stays on the device. */
  async selectAsync(rows: number[]): Promise<KVState> {
    if (!this.onDevice) return this.select(rows);
    this.checkRows(rows);
    const tensors = await this.deviceOps().take(this.tensors, rows, range(this.length), 'gpu-buffer');
    const { mask, nextPos } = this.selectedMeta(rows);
    return new KVState(this.shape, rows.length, this.length, mask, nextPos, tensors, this.device);
  }

  /** expand() for host and device states. */
  async expandAsync(n: number): Promise<KVState> {
    this.checkExpand(n);
    if (n === 1) return this;
    return this.selectAsync(new Array<number>(n).fill(0));
  }

  /** truncate() for host and device states; a device state's result stays on the device. */
  async truncateAsync(len: number): Promise<KVState> {
    if (!this.onDevice) return this.truncate(len);
    this.checkTruncate(len);
    if (len === this.length) return this;
    const tensors = await this.deviceOps().take(this.tensors, [0], range(len), 'gpu-buffer');
    const { mask, nextPos } = this.truncatedMeta(len);
    return new KVState(this.shape, 1, len, mask, nextPos, tensors, this.device);
  }

  /** Batch 1: only the slots whose mask is 1, in order (positions live in the keys: unchanged). */
  async compactAsync(): Promise<KVState> {
    if (this.batch !== 1) throw new BytefillError('BAD_ARGUMENT', `KVState.compact needs batch 1 (got ${this.batch})`);
    const keep: number[] = [];
    for (let s = 0; s < this.length; s++) if (this.mask[s]) keep.push(s);
    if (keep.length === this.length) return this;
    const mask = new Uint8Array(keep.length).fill(1);
    const nextPos = Int32Array.of(this.nextPos[0]);
    if (this.onDevice) {
      const tensors = await this.deviceOps().take(this.tensors, [0], keep, 'gpu-buffer');
      return new KVState(this.shape, 1, keep.length, mask, nextPos, tensors, this.device);
    }
    const { numKvHeads: H, headDim: D, dtype } = this.shape;
    const S = this.length;
    const N = keep.length;
    const tensors = this.hostData().map((src) => {
      const dst = alloc(dtype, H * N * D);
      for (let h = 0; h < H; h++) {
        let o = h * N * D;
        for (const s of keep) {
          const i = (h * S + s) * D;
          dst.set(src.subarray(i, i + D), o);
          o += D;
        }
      }
      return new ort.Tensor(dtype, dst, [1, H, N, D]);
    });
    return new KVState(this.shape, 1, N, mask, nextPos, tensors, this.device);
  }

  /** The same tensors with another mask/nextPos (views that mask out slots; no copy). */
  withMask(mask: Uint8Array, nextPos: Int32Array): KVState {
    if (mask.length !== this.batch * this.length || nextPos.length !== this.batch) {
      throw new BytefillError('BAD_ARGUMENT', `KVState.withMask: mask of ${mask.length} / nextPos of ${nextPos.length} for batch ${this.batch} x ${this.length} slots`);
    }
    return new KVState(this.shape, this.batch, this.length, mask, nextPos, this.tensors, this.device);
  }

  private deviceOps(): DeviceKV {
    if (!this.device) throw new BytefillError('UNSUPPORTED', 'KVState holds device tensors but no device operations');
    return this.device;
  }

  /**
   * Concatenates the rows of several states into one batch, left-padding shorter ones with masked
   * slots so every row has max(length) slots (row order: states[0]'s rows first). Host tensors only
   * (call toHost() first). Each row keeps its own nextPos, so position ids are unaffected.
   */
  static stack(states: KVState[]): KVState {
    if (states.length === 0) throw new BytefillError('BAD_ARGUMENT', 'KVState.stack needs at least one state');
    const shape = states[0].shape;
    for (const st of states) {
      const o = st.shape;
      if (o.numLayers !== shape.numLayers || o.numKvHeads !== shape.numKvHeads || o.headDim !== shape.headDim || o.dtype !== shape.dtype) {
        throw new BytefillError('BAD_ARGUMENT', 'KVState.stack: states have different shapes (layers, heads, head size or dtype)');
      }
    }
    const { numKvHeads: H, headDim: D, dtype } = shape;
    const S = Math.max(...states.map((st) => st.length));
    const B = states.reduce((n, st) => n + st.batch, 0);
    const data = states.map((st) => st.hostData());
    const mask = new Uint8Array(B * S);
    const nextPos = new Int32Array(B);
    let row = 0;
    for (const st of states) {
      for (let b = 0; b < st.batch; b++, row++) {
        mask.set(st.mask.subarray(b * st.length, (b + 1) * st.length), row * S + (S - st.length));
        nextPos[row] = st.nextPos[b];
      }
    }
    const tensors: ort.Tensor[] = [];
    for (let k = 0; k < 2 * shape.numLayers; k++) {
      const dst = alloc(dtype, B * H * S * D);
      let r = 0;
      states.forEach((st, i) => {
        const src = data[i][k];
        const Ls = st.length;
        const pad = S - Ls;
        for (let b = 0; b < st.batch; b++, r++) {
          for (let h = 0; h < H; h++) {
            const from = (b * H + h) * Ls * D;
            dst.set(src.subarray(from, from + Ls * D), ((r * H + h) * S + pad) * D);
          }
        }
      });
      tensors.push(new ort.Tensor(dtype, dst, [B, H, S, D]));
    }
    return new KVState(shape, B, S, mask, nextPos, tensors);
  }

  /** Releases device memory; CPU tensors are left to the garbage collector (other states may share them). */
  dispose(): void {
    if (this.pinned) return;
    this.release();
  }

  /** @internal Releases even a pinned state (used by PrefixCache on eviction). */
  release(): void {
    // Tensors of a disposed or failed device are dropped, not freed (freeing them would crash).
    if (this.device && !this.device.canFree) return;
    for (const t of this.tensors) {
      if (t.location === 'gpu-buffer') {
        try {
          t.dispose();
        } catch {
          // already disposed or downloading: nothing to free
        }
      }
    }
  }
}
