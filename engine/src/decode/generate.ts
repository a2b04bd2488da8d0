// The token decoding loop: pick, check stops, advance. Works on bytes so that a completion can
// start with an overhang (byte mode) and so partial UTF-8 at token ends is held back.
import { StopReason } from '../core/types';
import { Tokenizer } from '../tokenizer/tokenizer';
import { concatBytes, incompleteUtf8Tail, utf8DecodeLenient } from '../tokenizer/utf8';
import { Sampler } from './sampler';
import { TokenStepper } from './stepper';
import { yieldToEventLoop } from '../model/event-loop';

export interface GenerateOptions {
  tokenizer: Tokenizer;
  stepper: TokenStepper;
  sampler: Sampler;
  stopIds: ReadonlySet<number>;
  maxTokens: number;
  /** Absolute time (Date.now()) after which generation stops. */
  deadline?: number;
  stopStrings?: string[];
  /** Stop strings count only after the first non-whitespace output. */
  stopAfterLeadingWhitespace?: boolean;
  signal?: AbortSignal;
  /** Bytes already produced before the first token (the byte layer's overhang). */
  initialBytes?: Uint8Array;
  /** Restricts the first generated token (token healing). */
  firstTokenAllowed?: (id: number) => boolean;
  /** Bytes to drop from the front of the output (the healed token's already-typed text). */
  dropPrefixBytes?: number;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  stopReason: StopReason;
  steps: number;
  contrastedSteps: number;
  /** performance.now() when the first token was chosen (undefined if none was). */
  firstTokenAt?: number;
}

/**
 * Index of the earliest occurrence of any stop string in text, or -1. With `afterLeadingWhitespace`,
 * stops count only after the first non-whitespace character (a completion may start on the next line).
 */
export function firstStopIndex(text: string, stops: readonly string[] | undefined, afterLeadingWhitespace = false): number {
  let from = 0;
  if (afterLeadingWhitespace && stops?.length) {
    from = text.search(/\S/);
    if (from < 0) return -1;
  }
  let cut = -1;
  for (const s of stops ?? []) {
    const i = s ? text.indexOf(s, from) : -1;
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}

export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  let bytes = o.initialBytes ?? new Uint8Array(0);
  const tokens: number[] = [];
  let stopReason: StopReason = 'max_tokens';
  let contrasted = 0;
  let firstTokenAt: number | undefined;
  const temperature = o.sampler.greedy ? 1 : o.sampler.opts.temperature!;
  const visible = () => {
    const drop = Math.min(o.dropPrefixBytes ?? 0, bytes.length);
    return bytes.subarray(drop, bytes.length - incompleteUtf8Tail(bytes));
  };
  const stopAt = (text: string) => firstStopIndex(text, o.stopStrings, o.stopAfterLeadingWhitespace);
  // The initial overhang may already contain a stop string.
  let text = utf8DecodeLenient(visible());
  if (stopAt(text) >= 0) return { text: text.slice(0, stopAt(text)), tokens, stopReason: 'stop', steps: 0, contrastedSteps: 0 };

  for (let step = 0; step < o.maxTokens; step++) {
    // Between forwards: let a cancel message reach the signal (engine in a worker thread).
    if (step > 0) await yieldToEventLoop();
    if (o.signal?.aborted) {
      stopReason = 'aborted';
      break;
    }
    if (o.deadline !== undefined && Date.now() > o.deadline) {
      stopReason = 'max_time';
      break;
    }
    const probs = o.stepper.probs(temperature);
    if (o.stepper.lastStepContrasted) contrasted++;
    const id = o.sampler.pick(probs, step === 0 ? o.firstTokenAllowed : undefined);
    firstTokenAt ??= performance.now();
    if (id < 0 || o.stopIds.has(id)) {
      stopReason = 'eot';
      break;
    }
    tokens.push(id);
    bytes = concatBytes(bytes, o.tokenizer.tokenBytes(id));
    text = utf8DecodeLenient(visible());
    const cut = stopAt(text);
    if (cut >= 0) {
      text = text.slice(0, cut);
      return { text, tokens, stopReason: 'stop', steps: step + 1, contrastedSteps: contrasted, firstTokenAt };
    }
    if (step + 1 < o.maxTokens) {
      try {
        await o.stepper.advance(id, o.signal);
      } catch (e) {
        if (o.signal?.aborted) {
          stopReason = 'aborted';
          break;
        }
        throw e;
      }
    }
  }
  return { text: utf8DecodeLenient(visible()), tokens, stopReason, steps: tokens.length, contrastedSteps: contrasted, firstTokenAt };
}
