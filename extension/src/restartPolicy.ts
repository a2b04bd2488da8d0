// Decides whether a crashed server is restarted: at most `max` restarts within `windowMs`,
// so a server that dies at start-up does not loop forever. Pure; unit-tested.
export class RestartPolicy {
  private restarts: number[] = [];
  constructor(
    readonly max = 5,
    readonly windowMs = 3 * 60 * 1000,
  ) {}

  /** Records a crash at `now`; true when the server should be restarted. */
  shouldRestart(now = Date.now()): boolean {
    this.restarts = this.restarts.filter((t) => now - t < this.windowMs);
    if (this.restarts.length >= this.max) return false;
    this.restarts.push(now);
    return true;
  }
}
