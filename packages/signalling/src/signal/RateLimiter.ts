type BucketConfig = { ratePerSecond: number; burst: number };
type Bucket = { tokens: number; at: number };
type Limit = 'source' | 'target' | 'global';

/**
 * Token buckets for signals: one per source, one per target, one global. A
 * signal passes only when all three have a token, and then takes one from
 * each (a refused signal takes nothing, so a flooding source does not drain
 * its targets' buckets beyond its own allowance). At most `maxKeys` buckets
 * per kind are kept, least recently used evicted first: an evicted key
 * starts again with a full bucket, the price of bounded memory (an attacker
 * with more than `maxKeys` identities is still held by the global bucket).
 */
class RateLimiter {
  public readonly perSource: BucketConfig;
  public readonly perTarget: BucketConfig;
  public readonly global: BucketConfig;
  public readonly maxKeys: number;
  protected sources = new Map<string, Bucket>();
  protected targets = new Map<string, Bucket>();
  protected all: Bucket | undefined;

  public constructor({
    perSource = { ratePerSecond: 5, burst: 10 },
    perTarget = { ratePerSecond: 10, burst: 20 },
    global = { ratePerSecond: 200, burst: 400 },
    maxKeys = 10_000,
  }: {
    perSource?: BucketConfig;
    perTarget?: BucketConfig;
    global?: BucketConfig;
    maxKeys?: number;
  } = {}) {
    this.perSource = perSource;
    this.perTarget = perTarget;
    this.global = global;
    this.maxKeys = maxKeys;
  }

  public take(
    now: number,
    source: string,
    target: string,
  ): { ok: true } | { ok: false; limit: Limit; retryAfterMs: number } {
    const s = this.bucket(this.sources, source, this.perSource, now);
    const t = this.bucket(this.targets, target, this.perTarget, now);
    this.all = refill(this.all ?? { tokens: this.global.burst, at: now }, this.global, now);
    const checks: Array<[Limit, Bucket, BucketConfig]> = [
      ['source', s, this.perSource],
      ['target', t, this.perTarget],
      ['global', this.all, this.global],
    ];
    for (const [limit, b, c] of checks) {
      if (b.tokens < 1) {
        return {
          ok: false,
          limit,
          retryAfterMs: Math.ceil(((1 - b.tokens) * 1000) / c.ratePerSecond),
        };
      }
    }
    for (const [, b] of checks) b.tokens -= 1;
    return { ok: true };
  }

  /** Buckets kept, per kind. */
  public size(): { sources: number; targets: number } {
    return { sources: this.sources.size, targets: this.targets.size };
  }

  protected bucket(map: Map<string, Bucket>, key: string, c: BucketConfig, now: number): Bucket {
    const old = map.get(key);
    const b = refill(old ?? { tokens: c.burst, at: now }, c, now);
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    map.delete(key);
    map.set(key, b);
    if (map.size > this.maxKeys) map.delete(map.keys().next().value as string);
    return b;
  }
}

function refill(b: Bucket, c: BucketConfig, now: number): Bucket {
  const dt = Math.max(0, now - b.at);
  return {
    tokens: Math.min(c.burst, b.tokens + (dt * c.ratePerSecond) / 1000),
    at: Math.max(b.at, now),
  };
}

export default RateLimiter;
export type { BucketConfig };
