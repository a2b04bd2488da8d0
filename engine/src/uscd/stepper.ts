// USCD's stepper: the standard prompt (row 0) and the lame prompt (row 1) advance together as one
// left-padded batch of 2, so each step costs one batched forward. Every chosen token is fed to both
// rows (the lame row follows the standard row's choices). probs() gates on p_std and contrasts the
// uncertain steps; temperature is applied to the final distribution.
import { KVState } from '../model/kv-state';
import { OnnxModel } from '../model/onnx-model';
import { softmax } from '../decode/distribution';
import { TokenStepper } from '../decode/stepper';
import { applyTemperature, contrast } from './contrast';
import { gateOpen, uncertainty } from './gate';

export interface UscdParams {
  alpha: number;
  threshold: number;
  beta: number;
}

export class UscdStepper implements TokenStepper {
  private state: KVState;
  private stdLogits: Float32Array;
  private lameLogits: Float32Array;
  private contrasted = false;
  /** Normalised entropy of p_std at the last probs() call (for tests and diagnostics). */
  lastUncertainty = NaN;

  /** `std` and `lame` are batch-1 states, each ready for its next token, with their last logits. */
  static create(model: OnnxModel, std: { state: KVState; logits: Float32Array }, lame: { state: KVState; logits: Float32Array }, params: UscdParams): UscdStepper {
    return new UscdStepper(model, KVState.stack([std.state, lame.state]), std.logits, lame.logits, params);
  }

  constructor(
    readonly model: OnnxModel,
    /** Batch 2: row 0 standard, row 1 lame. */
    state: KVState,
    stdLogits: Float32Array,
    lameLogits: Float32Array,
    readonly params: UscdParams,
  ) {
    if (state.batch !== 2) throw new Error(`UscdStepper needs a batch-2 state (got ${state.batch})`);
    this.state = state;
    this.stdLogits = stdLogits;
    this.lameLogits = lameLogits;
  }

  get lastStepContrasted(): boolean {
    return this.contrasted;
  }

  /** Untempered next-token distributions of both rows (for tests and diagnostics). */
  rowProbs(): { std: Float64Array; lame: Float64Array } {
    return { std: softmax(this.stdLogits), lame: softmax(this.lameLogits) };
  }

  probs(temperature: number): Float64Array {
    const T = temperature > 0 ? temperature : 1;
    const pStd = softmax(this.stdLogits);
    this.lastUncertainty = uncertainty(pStd);
    this.contrasted = false;
    const { alpha, beta, threshold } = this.params;
    if (alpha > 0 && gateOpen(this.lastUncertainty, threshold)) {
      const q = contrast(pStd, softmax(this.lameLogits), alpha, beta);
      if (q) {
        this.contrasted = true;
        return applyTemperature(q, T);
      }
    }
    // Confident step (or the contrast left nothing): p_std unchanged, as the plain stepper gives it.
    return T === 1 ? pStd : softmax(this.stdLogits, T);
  }

  async advance(token: number, signal?: AbortSignal): Promise<void> {
    const r = await this.model.forward(this.state, [[token], [token]], { signal });
    this.state = r.state;
    this.stdLogits = r.logits[0][0];
    this.lameLogits = r.logits[1][0];
  }
}
