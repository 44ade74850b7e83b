import type { Clock, TimerHandle } from '@node-network/network-interface';

type Timer = { due: number; seq: number; callback: () => void; cancelled: boolean };

/**
 * A positive delay below 1 µs waits 1 µs, so virtual time always moves on
 * for it: a check like `now - t >= d` that waits `t + d - now` otherwise
 * (measured: the connection manager's idle check) can spin at one instant
 * when floating-point rounding makes the first false and the second 0 or
 * below the clock's resolution.
 */
function minimumDelay(delay: number): number {
  if (!(delay > 0)) return 0;
  return delay < 0.001 ? 0.001 : delay;
}

/**
 * Virtual time: nothing happens until the owner advances it. Timers run in
 * (due, set order) order, so a run is the same every time. Hours of protocol
 * time pass in milliseconds.
 */
class VirtualClock implements Clock {
  protected time: number;
  protected seq = 0;
  protected heap: Array<Timer> = [];
  protected wake?: () => void;
  /** Timers run since creation (the simulator's event count). */
  public timersRun = 0;

  /** The wall time at virtual time 0 (fixed, so runs are reproducible). */
  public readonly epoch: number;

  public constructor(start = 0, epoch = Date.UTC(2026, 0, 1)) {
    this.time = start;
    this.epoch = epoch;
  }

  public now(): number {
    return this.time;
  }

  public wallTime(): number {
    return this.epoch + this.time;
  }

  public setTimer(delay: number, callback: () => void): TimerHandle {
    const timer: Timer = {
      due: this.time + minimumDelay(delay),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.push(timer);
    if (this.wake != null) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
    return {
      due: timer.due,
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers not yet run or cancelled. */
  public get pending(): number {
    return this.heap.filter((t) => !t.cancelled).length;
  }

  /** When the next timer is due, or undefined when none is. */
  public nextDue(): number | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
    return this.heap[0]?.due;
  }

  /** Moves time forward by `ms`, running every timer due by then. Returns timers run. */
  public advance(ms: number): number {
    return this.runUntil(this.time + ms);
  }

  /** Runs timers until none is left or `limit` timers have run. Returns timers run. */
  public runUntilIdle(limit = 10_000_000): number {
    let n = 0;
    for (let due = this.nextDue(); due != null && n < limit; due = this.nextDue()) {
      n += this.runUntil(due, limit - n);
    }
    return n;
  }

  /**
   * Runs virtual time by itself, for async code (promises, web streams, RPC)
   * that cannot be stepped by hand: whenever the event loop has nothing else
   * to do (one `setImmediate` turn), time jumps to the next timer and runs
   * every timer due then. With no timer pending it sleeps until one is set.
   *
   * `maxRate` (virtual ms per real ms) paces it for code that also waits on
   * real I/O (a database, a worker): while such a wait is pending the event
   * loop looks idle, and unpaced virtual time would race ahead and fire
   * timeouts that the real wait never earned. Paced, virtual time moves at
   * most `maxRate` times as fast as real time.
   * Returns the function that stops it.
   */
  public autoRun({ maxRate = Infinity }: { maxRate?: number } = {}): () => void {
    let running = true;
    let realAnchor = performance.now();
    let virtualAnchor = this.time;
    const loop = async () => {
      while (running) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!running) break;
        const due = this.nextDue();
        if (due == null) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          realAnchor = performance.now();
          virtualAnchor = this.time;
          continue;
        }
        if (Number.isFinite(maxRate)) {
          const allowed = virtualAnchor + (performance.now() - realAnchor) * maxRate;
          if (due > allowed) {
            const waitMs = Math.min(50, (due - allowed) / maxRate);
            // The one real wait in netsim: pacing virtual time against real I/O is its purpose.
            // eslint-disable-next-line no-restricted-globals
            await new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, waitMs)));
            continue;
          }
        }
        this.runUntil(due);
      }
    };
    void loop();
    return () => {
      running = false;
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    };
  }

  protected runUntil(until: number, limit = Infinity): number {
    let n = 0;
    while (n < limit) {
      const due = this.nextDue();
      if (due == null || due > until) break;
      const t = this.pop()!;
      this.time = Math.max(this.time, t.due);
      n++;
      this.timersRun++;
      t.callback();
    }
    this.time = Math.max(this.time, until);
    return n;
  }

  protected less(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  protected push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  protected pop(): Timer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

export default VirtualClock;
