/**
 * Time as protocol code sees it. Protocol logic never reads the real clock:
 * drivers hand it a `Clock`, real (`transport`) or virtual (`netsim`).
 */
interface Clock {
  /** Milliseconds on a monotonic scale; never decreases. The origin is arbitrary. */
  now(): number;
  /**
   * Milliseconds since the Unix epoch, for records people read (audit
   * times). Moves with `now()`; never use it to measure durations.
   */
  wallTime(): number;
  /**
   * Runs `callback` once, `delay` ms from now (0 or negative: as soon as possible,
   * after the current call stack). Timers due at the same time run in the order
   * they were set. Returns a handle that cancels the timer; cancelling a timer
   * that already ran or was cancelled does nothing.
   */
  setTimer(delay: number, callback: () => void): TimerHandle;
}

interface TimerHandle {
  /** The `Clock.now()` value at which the timer is due. */
  readonly due: number;
  cancel(): void;
}

export type { Clock, TimerHandle };
