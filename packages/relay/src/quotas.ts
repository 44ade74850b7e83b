import type { Clock } from '@node-network/network-interface';

/** What one relay allows. */
type RelayQuotas = {
  /** Circuits through us at once, all peers together. */
  maxCircuits: number;
  /** Circuits one source node may hold through us at once. */
  maxCircuitsPerPeer: number;
  /** Circuits toward one target at once. */
  maxCircuitsPerTarget: number;
  /** Bytes one circuit may carry, both directions together; beyond it the circuit is cut. */
  maxCircuitBytes: number;
  /** Bytes per second one circuit may carry in each direction (0: no limit); beyond it, it waits. */
  maxCircuitRate: number;
};

const relayQuotasDefault: RelayQuotas = {
  maxCircuits: 64,
  maxCircuitsPerPeer: 8,
  maxCircuitsPerTarget: 16,
  maxCircuitBytes: 8 * 2 ** 30,
  maxCircuitRate: 128 * 2 ** 20,
};

/**
 * A token bucket of bytes: `take(n)` resolves once `n` bytes fit the rate,
 * holding the circuit back (back-pressure) instead of dropping anything.
 * One second's worth is the burst.
 */
class ByteRate {
  protected tokens: number;
  protected last: number;

  public constructor(
    protected rate: number,
    protected clock: Clock,
  ) {
    this.tokens = rate;
    this.last = clock.now();
  }

  public async take(n: number): Promise<void> {
    if (this.rate <= 0) return;
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      // A chunk larger than the burst goes once the bucket is full.
      if (this.tokens >= Math.min(n, this.rate)) {
        this.tokens -= n;
        return;
      }
      const wait = Math.ceil(((Math.min(n, this.rate) - this.tokens) * 1000) / this.rate);
      await new Promise<void>((resolve) => this.clock.setTimer(Math.max(1, wait), resolve));
    }
  }
}

export { ByteRate, relayQuotasDefault };
export type { RelayQuotas };
