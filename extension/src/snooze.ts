// Snooze: no inline completions until a moment in time (pure; the clock is passed in).
export class Snooze {
  private until = 0;

  /** Snoozes for `ms` from `now` (a later snooze replaces an earlier one). */
  snooze(ms: number, now: number): void {
    this.until = now + ms;
  }

  resume(): void {
    this.until = 0;
  }

  active(now: number): boolean {
    return now < this.until;
  }

  /** Milliseconds left (0 when not snoozed). */
  remaining(now: number): number {
    return Math.max(0, this.until - now);
  }
}

/** "4 min" / "30 s" for the status bar tooltip. */
export function formatRemaining(ms: number): string {
  if (ms >= 60_000) return `${Math.ceil(ms / 60_000)} min`;
  return `${Math.ceil(ms / 1000)} s`;
}
