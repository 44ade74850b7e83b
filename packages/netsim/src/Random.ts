/**
 * A small seeded pseudo-random source (mulberry32): the same seed gives the
 * same sequence on every machine. Not for cryptography.
 */
class Random {
  protected state: number;

  public constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  public next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  public int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  public chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A new independent source derived from this one. */
  public fork(): Random {
    return new Random(this.int(0, 0xffffffff));
  }
}

export default Random;
