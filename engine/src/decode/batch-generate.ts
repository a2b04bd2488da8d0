// Decodes several candidate rows at once: one batched forward per step for all rows still
// running (a row that stops leaves the batch). Row 0 is the main (greedy) candidate; the other rows
// start from a different first token or cover. Each row has its own deadline, so alternatives can be
// cut off shortly after the main row is done while it keeps its own time cap.
import { StopReason } from '../core/types';
import { KVState } from '../model/kv-state';
import { OnnxModel } from '../model/onnx-model';
import { Tokenizer } from '../tokenizer/tokenizer';
import { concatBytes, incompleteUtf8Tail, utf8DecodeLenient } from '../tokenizer/utf8';
import { softmax } from './distribution';
import { firstStopIndex } from './generate';
import { Sampler } from './sampler';

export interface RowStart {
  /** Batch-1 state holding everything before the row's next token. */
  state: KVState;
  /** Next-token logits at that state. */
  logits: Float32Array;
  /** Bytes already produced (byte mode's overhang). */
  initialBytes: Uint8Array;
  /** The row's first token, chosen by the caller (alternative first tokens); otherwise picked. */
  forced?: number;
  /** Most tokens this row may generate (a forced first token counts). */
  maxTokens: number;
}

export interface BatchGenerateOptions {
  model: OnnxModel;
  tokenizer: Tokenizer;
  sampler: Sampler;
  stopIds: ReadonlySet<number>;
  stopStrings?: string[];
  /** Stop strings count only after the first non-whitespace output. */
  stopAfterLeadingWhitespace?: boolean;
  signal?: AbortSignal;
  /** Bytes dropped from the front of every row's output (token healing). */
  dropPrefixBytes?: number;
  /** Absolute time (Date.now()) after which the main row stops. */
  deadline?: number;
  /**
   * Alternatives stop this long after the main row stopped (and at `deadline` in any case); a row
   * cut off this way reports 'max_time'.
   */
  extraMs: number;
  /** ...but not before they had this many more steps (default 0; never past `deadline`). */
  extraSteps?: number;
}

export interface RowResult {
  text: string;
  tokens: number[];
  stopReason: StopReason;
}

interface Row {
  bytes: Uint8Array;
  tokens: number[];
  logits: Float32Array;
  forced?: number;
  maxTokens: number;
  text: string;
  stopReason: StopReason | null;
}

export async function generateBatch(starts: RowStart[], o: BatchGenerateOptions): Promise<RowResult[]> {
  const temperature = o.sampler.greedy ? 1 : o.sampler.opts.temperature!;
  const drop = o.dropPrefixBytes ?? 0;
  const visible = (bytes: Uint8Array) => utf8DecodeLenient(bytes.subarray(Math.min(drop, bytes.length), bytes.length - incompleteUtf8Tail(bytes)));
  const rows: Row[] = starts.map((s) => ({ bytes: s.initialBytes, tokens: [], logits: s.logits, forced: s.forced, maxTokens: s.maxTokens, text: visible(s.initialBytes), stopReason: null }));
  for (const r of rows) {
    const cut = firstStopIndex(r.text, o.stopStrings, o.stopAfterLeadingWhitespace);
    if (cut >= 0) {
      r.text = r.text.slice(0, cut);
      r.stopReason = 'stop';
    } else if (r.maxTokens <= 0) r.stopReason = 'max_tokens';
  }
  let mainDoneAt: number | null = rows[0]?.stopReason ? Date.now() : null;
  let step = 0;
  let mainDoneStep = 0;
  const deadlineOf = (i: number): number => {
    const d = o.deadline ?? Infinity;
    if (i === 0 || mainDoneAt === null || step - mainDoneStep < (o.extraSteps ?? 0)) return d;
    return Math.min(d, mainDoneAt + o.extraMs);
  };

  // Rows in the current batch, in batch order, and their state.
  let inBatch = rows.map((_, i) => i).filter((i) => !rows[i].stopReason);
  let state: KVState | null = inBatch.length ? KVState.stack(await Promise.all(inBatch.map((i) => starts[i].state.toHost()))) : null;

  while (state && inBatch.length > 0) {
    if (o.signal?.aborted) {
      for (const i of inBatch) rows[i].stopReason = 'aborted';
      break;
    }
    const next: Array<{ i: number; id: number }> = [];
    for (const i of inBatch) {
      const r = rows[i];
      if (Date.now() > deadlineOf(i)) r.stopReason = 'max_time';
      else {
        const id = r.forced ?? o.sampler.pick(softmax(r.logits, temperature));
        r.forced = undefined;
        if (id < 0 || o.stopIds.has(id)) r.stopReason = 'eot';
        else {
          r.tokens.push(id);
          r.bytes = concatBytes(r.bytes, o.tokenizer.tokenBytes(id));
          r.text = visible(r.bytes);
          const cut = firstStopIndex(r.text, o.stopStrings, o.stopAfterLeadingWhitespace);
          if (cut >= 0) {
            r.text = r.text.slice(0, cut);
            r.stopReason = 'stop';
          } else if (r.tokens.length >= r.maxTokens) r.stopReason = 'max_tokens';
          else next.push({ i, id });
        }
      }
      if (i === 0 && r.stopReason && mainDoneAt === null) {
        mainDoneAt = Date.now();
        mainDoneStep = step;
      }
    }
    step++;
    if (next.length === 0) break;
    // Rows that stopped leave the batch (their KV rows are dropped).
    if (next.length !== inBatch.length) {
      const keep = next.map((n) => inBatch.indexOf(n.i));
      state = (await state.toHost()).select(keep);
    }
    inBatch = next.map((n) => n.i);
    let out;
    try {
      out = await o.model.forward(state, next.map((n) => [n.id]), { signal: o.signal });
    } catch (e) {
      if (o.signal?.aborted) {
        for (const i of inBatch) rows[i].stopReason = 'aborted';
        break;
      }
      throw e;
    }
    state = out.state;
    next.forEach((n, k) => (rows[n.i].logits = out.logits[k][0]));
  }
  return rows.map((r) => ({ text: r.text, tokens: r.tokens, stopReason: r.stopReason ?? 'max_tokens' }));
}
