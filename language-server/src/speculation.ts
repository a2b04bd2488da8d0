// Speculative completion: while a suggestion is shown, the next one is computed as if it had been
// accepted (the document with the suggestion inserted, the cursor after it) and stored in the
// completion cache, so the request that follows an accept is answered at once. One job at a time;
// it yields to everything: any new request or keystroke that is not exactly that accept cancels it.
import { JobSlot } from './backgroundJob';

/** What a job needs computed: the hypothetical document and cursor. */
export interface SpeculationTarget {
  uri: string;
  languageId: string;
  text: string;
  offset: number;
}

export interface SpeculationCounts {
  started: number;
  /** Finished and stored in the cache. */
  finished: number;
  cancelled: number;
  /** Ended without a suggestion to store (nothing generated, engine not ready, or an error). */
  empty: number;
  /** Requests answered by a speculative result. */
  used: number;
}

interface Job extends SpeculationTarget {
  ac: AbortController;
  done: Promise<void>;
}

/** Runs the computation; resolves when it is stored (or gave nothing). Must honour the signal. */
export type SpeculationRunner = (target: SpeculationTarget, signal: AbortSignal) => Promise<boolean>;

/** Delay before a job starts, so the answer that triggered it is written out first. */
const START_DELAY_MS = 5;

export class Speculator extends JobSlot<Job> {
  readonly counts: SpeculationCounts = { started: 0, finished: 0, cancelled: 0, empty: 0, used: 0 };

  constructor(private readonly run: SpeculationRunner) {
    super();
  }

  protected countCancelled(): void {
    this.counts.cancelled++;
  }

  /** The document that would result from inserting `insert` at `offset`. */
  static accepted(uri: string, languageId: string, text: string, offset: number, insert: string): SpeculationTarget {
    return { uri, languageId, text: text.slice(0, offset) + insert + text.slice(offset), offset: offset + insert.length };
  }

  start(target: SpeculationTarget): void {
    this.cancel();
    const ac = new AbortController();
    const job: Job = { ...target, ac, done: Promise.resolve() };
    this.counts.started++;
    job.done = (async () => {
      await new Promise((r) => setTimeout(r, START_DELAY_MS));
      if (ac.signal.aborted) return;
      let stored = false;
      try {
        stored = await this.run(target, ac.signal);
      } catch {
        // A failed speculation costs nothing: the real request computes normally.
      }
      if (ac.signal.aborted) return;
      if (stored) this.counts.finished++;
      else this.counts.empty++;
    })().finally(() => {
      if (this.job === job) this.job = null;
    });
    this.job = job;
  }

  /** The running job for exactly this document state and cursor, if any. */
  pendingFor(uri: string, text: string, offset: number): Promise<void> | null {
    const j = this.job;
    if (!j || j.uri !== uri || j.offset !== offset || j.text.length !== text.length || j.text !== text) return null;
    return j.done;
  }

  /** A document changed: a job for another state of that document is stale. */
  documentChanged(uri: string, text: () => string): void {
    const j = this.job;
    if (!j || j.uri !== uri) return;
    const t = text();
    if (t.length !== j.text.length || t !== j.text) this.cancel();
  }
}
