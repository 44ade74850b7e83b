import type { Clock, TimerHandle } from '@node-network/network-interface';
import { performance } from 'node:perf_hooks';

/**
 * The process's monotonic clock and timers, behind the `Clock` contract. The
 * one place in node-network that reads real time; protocol code gets it
 * injected.
 */
class RealClock implements Clock {
  public now(): number {
    return performance.now();
  }

  public wallTime(): number {
    return Date.now();
  }

  public setTimer(delay: number, callback: () => void): TimerHandle {
    const d = Math.max(0, delay);
    const due = this.now() + d;
    let timeout: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
      timeout = undefined;
      callback();
    }, d);
    return {
      due,
      cancel: () => {
        if (timeout != null) clearTimeout(timeout);
        timeout = undefined;
      },
    };
  }
}

export default RealClock;
