// KV-cache operations on the device (webgpu), for states whose tensors live there.
//
// Why a graph: onnxruntime-node 1.30 hands out device outputs ('gpu-buffer') as opaque handles.
// They can be fed back into a session, but not read from JS: the binding's `download` for such a
// tensor is `NAPI_THROW("not implemented")` (js/node/src/tensor_helper.cc), which throws a C++
// `const char*` that nothing catches, so `tensor.getData()` aborts the whole process ("terminate
// called after throwing an instance of 'char const*'"). So everything done to a device cache is
// done by onnxruntime itself: one small graph, run on the same provider as the model,
//
//   y_i = Gather(Gather(x_i, rows, axis 0), slots, axis 2)   for each KV tensor [B,H,S,D]
//
// in two sessions: one whose outputs stay on the device (select/expand/truncate/compact without
// leaving the GPU) and one whose outputs come to the CPU (toHost: the only supported way to download).
// Sessions on the same provider share one WebGPU device, so they accept each other's buffers.

import * as ort from './ort';
import { BytefillError, Provider } from '../core/types';
import { encodeModel, ValueInfo } from './onnx-graph';

export interface DeviceKVShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  dtype: 'float32' | 'float16';
}

function takeGraph(shape: DeviceKVShape): Uint8Array {
  const n = 2 * shape.numLayers;
  const inputs: ValueInfo[] = [];
  const outputs: ValueInfo[] = [];
  const nodes = [];
  for (let i = 0; i < n; i++) {
    inputs.push({ name: `x${i}`, type: shape.dtype, dims: ['batch', shape.numKvHeads, 'slots', shape.headDim] });
    outputs.push({ name: `y${i}`, type: shape.dtype, dims: ['rows', shape.numKvHeads, 'kept', shape.headDim] });
    nodes.push({ op: 'Gather', inputs: [`x${i}`, 'rows'], outputs: [`g${i}`], ints: { axis: 0 } });
    nodes.push({ op: 'Gather', inputs: [`g${i}`, 'slots'], outputs: [`y${i}`], ints: { axis: 2 } });
  }
  inputs.push({ name: 'rows', type: 'int64', dims: ['rows'] }, { name: 'slots', type: 'int64', dims: ['kept'] });
  return encodeModel({ name: 'kv_take', inputs, outputs, nodes });
}

const i64 = (values: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);

/** 0, 1, ..., n-1 */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export class DeviceKV {
  private onDevice?: Promise<ort.InferenceSession>;
  private toCpu?: Promise<ort.InferenceSession>;
  private readonly graph: Uint8Array;
  private disposed = false;
  private failed = false;

  constructor(
    readonly provider: Provider,
    readonly shape: DeviceKVShape,
  ) {
    this.graph = takeGraph(shape);
  }

  private session(where: 'gpu-buffer' | 'cpu'): Promise<ort.InferenceSession> {
    if (this.disposed) return Promise.reject(new BytefillError('BAD_ARGUMENT', 'device KV operations used after the model was disposed'));
    const create = () => {
      const p = ort.InferenceSession.create(this.graph, {
        executionProviders: [this.provider],
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        logSeverityLevel: 3,
        preferredOutputLocation: where,
      });
      // A failed creation is not cached: the next call tries again.
      p.catch(() => {
        if (where === 'cpu') this.toCpu = undefined;
        else this.onDevice = undefined;
      });
      return p;
    };
    if (where === 'cpu') return (this.toCpu ??= create());
    return (this.onDevice ??= create());
  }

  /**
   * Rows `rows` and slots `slots` (both may repeat, in the order given) of the 2*numLayers tensors
   * [B,H,S,D]. `to` says where the result lives: 'gpu-buffer' (stays on the device) or 'cpu'.
   */
  async take(tensors: ort.Tensor[], rows: number[], slots: number[], to: 'gpu-buffer' | 'cpu'): Promise<ort.Tensor[]> {
    const n = 2 * this.shape.numLayers;
    if (tensors.length !== n) throw new BytefillError('BAD_ARGUMENT', `device KV: ${tensors.length} tensors given, ${n} expected`);
    // After a failure or dispose the inputs may point at freed device memory: using them could
    // crash the process, so refuse (the engine then falls back to the CPU).
    if (!this.canFree) throw new BytefillError('DEVICE_FAILED', `device KV operation on ${this.provider} after the model's device ${this.disposed ? 'was released' : 'failed'}`);
    const session = await this.session(to);
    const feeds: Record<string, ort.Tensor> = { rows: i64(rows), slots: i64(slots) };
    tensors.forEach((t, i) => (feeds[`x${i}`] = t));
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(feeds);
    } catch (e) {
      this.failed = true;
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
      throw new BytefillError('DEVICE_FAILED', `device KV operation failed on ${this.provider}: ${msg}`);
    }
    const res: ort.Tensor[] = [];
    for (let i = 0; i < n; i++) res.push(out[`y${i}`]);
    return res;
  }

  /**
   * Whether device tensors of this model may still be freed one by one. Not after the model was
   * disposed or its device failed: freeing a device tensor whose session is gone crashes the
   * process (measured with onnxruntime-node 1.30), so such tensors are only dropped.
   */
  get canFree(): boolean {
    return !this.disposed && !this.failed;
  }

  /** Called by the model when a run on the device failed. */
  markFailed(): void {
    this.failed = true;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const p of [this.onDevice, this.toCpu]) {
      if (!p) continue;
      try {
        await (await p).release();
      } catch {
        // creation failed: nothing to release
      }
    }
    this.onDevice = this.toCpu = undefined;
  }
}
