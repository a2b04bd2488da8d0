// Warming the prefix KV cache where the cursor went: when the editor reports a cursor jump or an
// opened file (bytefill/warm), the prompt a completion there would use is prefilled, so the first
// request there (or one typed a few characters later: the prompt up to the cursor's last stable
// boundary is shared) starts from cached KV. One warm-up at a time; it yields to everything: a
// completion request that runs the engine, a newer warm-up, or closing its document cancels it,
// and the engine also cancels it for any other call that reaches it (that call waits at most for
// the prefill chunk in progress). An edit does not cancel a warm-up: typing at the warmed point
// keeps the prompt up to the cursor's last stable boundary, which is what it computes.
import { JobSlot, type SlotJob } from './backgroundJob';
import type { WarmStatus } from './protocol';

/** Where to warm: a document state and cursor. */
export interface WarmTarget {
  uri: string;
  languageId: string;
  text: string;
  offset: number;
  line: number;
}

/** What a finished warm-up did (summed over the models). */
export interface WarmOutcome {
  promptTokens: number;
  computedTokens: number;
  ms: number;
}

/** Runs the prefill; resolves with what it did, or null when there was nothing to warm. Must honour the signal. */
export type WarmRunner = (target: WarmTarget, signal: AbortSignal) => Promise<WarmOutcome | null>;

export class Warmer extends JobSlot<SlotJob> {
  readonly status: WarmStatus = { requested: 0, started: 0, finished: 0, cancelled: 0, failed: 0, skipped: 0, last: null };

  constructor(
    private readonly run: WarmRunner,
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    super();
  }

  protected countCancelled(): void {
    this.status.cancelled++;
  }

  /** A warm-up was asked for but will not run (setting off, nothing loaded, unknown document). */
  skip(): void {
    this.status.requested++;
    this.status.skipped++;
  }

  /** Starts warming `target`, cancelling the previous warm-up. Resolves when this one ends. */
  start(target: WarmTarget): Promise<void> {
    this.cancel();
    this.status.requested++;
    this.status.started++;
    const ac = new AbortController();
    const job: SlotJob = { uri: target.uri, ac };
    this.hold(job);
    return (async () => {
      try {
        const out = await this.run(target, ac.signal);
        if (ac.signal.aborted) return;
        if (out === null) {
          // Started but nothing to prefill (binary content near the cursor).
          this.status.started--;
          this.status.skipped++;
          return;
        }
        this.status.finished++;
        this.status.last = { uri: target.uri, line: target.line, ...out };
      } catch (e) {
        if (ac.signal.aborted || (e as { code?: string }).code === 'ABORTED') {
          // Cancelled here (counted by cancel()) or by the engine for another call.
          if (!ac.signal.aborted) this.status.cancelled++;
          return;
        }
        this.status.failed++;
        this.onError(e);
      } finally {
        this.release(job);
      }
    })();
  }
}
