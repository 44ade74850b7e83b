/**
 * A sliding one-minute window over the queries we send: at most
 * `maxPerMinute` in any 60 s, whatever asked for them (browsing, resolving,
 * refreshing). A query storm is impossible by construction: past the
 * budget, queries wait for `nextFree`.
 */
class QueryBudget {
  protected sent: Array<number> = [];

  public constructor(public readonly maxPerMinute: number) {}

  /** Takes one query from the budget at `now`; false when the window is full. */
  public take(now: number): boolean {
    this.prune(now);
    if (this.sent.length >= this.maxPerMinute) return false;
    this.sent.push(now);
    return true;
  }

  /** When the next query may go (now, when the window has room). */
  public nextFree(now: number): number {
    this.prune(now);
    if (this.sent.length < this.maxPerMinute) return now;
    return this.sent[0] + 60_000;
  }

  /** Queries sent in the minute up to `now`. */
  public used(now: number): number {
    this.prune(now);
    return this.sent.length;
  }

  protected prune(now: number): void {
    while (this.sent.length > 0 && this.sent[0] + 60_000 <= now) this.sent.shift();
  }
}

export default QueryBudget;
