// One background job at a time (a speculative completion, a cache warm-up): a new job replaces the
// old one, closing its document or any call to cancel() aborts it, and each abort is counted once
// (the owner's countCancelled()).

export interface SlotJob {
  uri: string;
  ac: AbortController;
}

export abstract class JobSlot<J extends SlotJob> {
  protected job: J | null = null;

  /** Counts one cancelled job. */
  protected abstract countCancelled(): void;

  /** Makes `job` the running one (call cancel() first). */
  protected hold(job: J): void {
    this.job = job;
  }

  /** The job ended by itself: free the slot unless a newer job took it. */
  protected release(job: J): void {
    if (this.job === job) this.job = null;
  }

  /** A document closed: its job has no one to answer. */
  documentClosed(uri: string): void {
    if (this.job?.uri === uri) this.cancel();
  }

  cancel(): void {
    const j = this.job;
    if (!j) return;
    this.job = null;
    if (!j.ac.signal.aborted) {
      j.ac.abort();
      this.countCancelled();
    }
  }

  get running(): boolean {
    return this.job !== null;
  }
}
