// A source of next-token distributions that advances with each chosen token. The plain stepper
// wraps one KV state; USCD's stepper (uscd/) runs two prompts as one batch.
import { KVState } from '../model/kv-state';
import { OnnxModel } from '../model/onnx-model';
import { softmax } from './distribution';

export interface TokenStepper {
  /** Probabilities of the next token (temperature applied; 1 when greedy). */
  probs(temperature: number): Float64Array;
  advance(token: number, signal?: AbortSignal): Promise<void>;
  /** Whether the last probs() call changed the model's distribution (USCD contrast). */
  readonly lastStepContrasted?: boolean;
}

export class PlainStepper implements TokenStepper {
  constructor(
    readonly model: OnnxModel,
    private state: KVState,
    private logits: Float32Array,
  ) {}

  probs(temperature: number): Float64Array {
    return softmax(this.logits, temperature > 0 ? temperature : 1);
  }

  async advance(token: number, signal?: AbortSignal): Promise<void> {
    const r = await this.model.forward(this.state, [[token]], { signal });
    this.state = r.state;
    this.logits = r.logits[0][0];
  }
}
