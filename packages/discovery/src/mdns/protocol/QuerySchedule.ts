type QueryScheduleConfig = {
  /** The first query waits a random 20-120 ms (RFC 6762 5.2), so hosts starting together do not collide. */
  firstDelayMin: number;
  firstDelayMax: number;
  /** The second query comes this long after the first; each interval after doubles... */
  minInterval: number;
  /** ...up to this (RFC 6762 5.2: at least doubling, capped at 60 minutes or more). */
  maxInterval: number;
};

const queryScheduleDefault: QueryScheduleConfig = {
  firstDelayMin: 20,
  firstDelayMax: 120,
  minInterval: 1000,
  maxInterval: 3600_000,
};

/**
 * When to ask a continuous question again (RFC 6762 5.2): the first query
 * after a random 20-120 ms, then intervals of 1 s, 2 s, 4 s, ... up to one
 * hour. A matching query from another host that carried all our known
 * answers counts as ours (duplicate question suppression, 7.3): the
 * schedule moves on as if we had sent it. Pure: every method takes `now`.
 */
class QuerySchedule {
  public readonly config: QueryScheduleConfig;
  protected interval: number;
  protected _nextDue: number | undefined;

  public constructor(
    protected random: () => number,
    config: Partial<QueryScheduleConfig> = {},
  ) {
    this.config = { ...queryScheduleDefault, ...config };
    this.interval = this.config.minInterval;
  }

  /** When the next query is due; undefined before `start`. */
  public get nextDue(): number | undefined {
    return this._nextDue;
  }

  public start(now: number): void {
    const { firstDelayMin: lo, firstDelayMax: hi } = this.config;
    this.interval = this.config.minInterval;
    this._nextDue = now + lo + this.random() * (hi - lo);
  }

  public stop(): void {
    this._nextDue = undefined;
  }

  public due(now: number): boolean {
    return this._nextDue != null && this._nextDue <= now;
  }

  /** A query for this question went out at `now` (ours, or another host's that suppresses ours). */
  public sent(now: number): void {
    if (this._nextDue == null) return;
    this._nextDue = now + this.interval;
    this.interval = Math.min(this.interval * 2, this.config.maxInterval);
  }

  /** The budget had no room: try again at `at`, without advancing the backoff. */
  public deferTo(at: number): void {
    if (this._nextDue != null) this._nextDue = Math.max(this._nextDue, at);
  }
}

export default QuerySchedule;
export { queryScheduleDefault };
export type { QueryScheduleConfig };
