import { maxSkewMs } from './messages.js';
import * as errors from './errors.js';

/**
 * Refuses a signal seen before: remembers each (source, nonce) until its
 * time plus `windowMs` (by then the freshness check refuses it anyway).
 * Bounded: when `maxEntries` unexpired entries are held, new signals are
 * refused as rate limited rather than old entries forgotten, because
 * forgetting an unexpired entry would let its replay through.
 */
class ReplayGuard {
  public readonly windowMs: number;
  public readonly maxEntries: number;
  protected seen = new Map<string, number>();

  public constructor({
    windowMs = 2 * maxSkewMs,
    maxEntries = 100_000,
  }: { windowMs?: number; maxEntries?: number } = {}) {
    this.windowMs = windowMs;
    this.maxEntries = maxEntries;
  }

  public check(now: number, source: string, nonce: Uint8Array, time: number): void {
    if (Math.abs(now - time) > maxSkewMs) {
      throw new errors.ErrorSignalStale(`A signal ${Math.round((time - now) / 1000)} s from now`);
    }
    const key = `${source}/${Buffer.from(nonce).toString('hex')}`;
    const until = this.seen.get(key);
    if (until != null && until > now) {
      throw new errors.ErrorSignalReplay(`Signal ${key.slice(0, 24)}… was seen before`);
    }
    if (this.seen.size >= this.maxEntries) this.expire(now);
    if (this.seen.size >= this.maxEntries) {
      throw new errors.ErrorSignalRateLimited('Too many signals to remember; try later', {
        data: { limit: 'global', retryAfterMs: 1_000 },
      });
    }
    this.seen.set(key, time + this.windowMs);
  }

  public size(): number {
    return this.seen.size;
  }

  protected expire(now: number): void {
    for (const [k, until] of this.seen) if (until <= now) this.seen.delete(k);
  }
}

export default ReplayGuard;
