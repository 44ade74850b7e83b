import type { Clock } from '@node-network/network-interface';
import type { ChaosEvent, ChaosEventLevel, OpRecord, Violation, ViolationKind } from './types.js';
import * as events from './events.js';

/**
 * The run's log: events, operations and violations, each stamped with the
 * run's time (ms since the chaos phase started, on the lab's clock). What
 * it holds is the reproducible part of a run: on netsim the same seed gives
 * the same log. Dispatches each event and violation as it happens.
 */
class Recorder extends EventTarget {
  public readonly events: Array<ChaosEvent> = [];
  public readonly ops: Array<OpRecord> = [];
  public readonly violations: Array<Violation> = [];
  public readonly clock: Clock;
  protected t0: number;
  protected nextOpId = 1;

  public constructor(clock: Clock) {
    super();
    this.clock = clock;
    this.t0 = clock.now();
  }

  /** Starts the run's time at the clock's now. */
  public resetOrigin(): void {
    this.t0 = this.clock.now();
  }

  /** Time since the origin, ms (integer on netsim's clock; rounded to 0.1 ms in real time). */
  public now(): number {
    return Math.round((this.clock.now() - this.t0) * 10) / 10;
  }

  public log(kind: string, text: string, level: ChaosEventLevel = 'info'): ChaosEvent {
    const e: ChaosEvent = { time: this.now(), kind, text, ...(level !== 'info' ? { level } : {}) };
    this.events.push(e);
    this.dispatchEvent(new events.EventChaosLog({ detail: e }));
    return e;
  }

  public violation(kind: ViolationKind, text: string, node?: string): Violation {
    const v: Violation = { time: this.now(), kind, ...(node != null ? { node } : {}), text };
    this.violations.push(v);
    this.log('violation', `${kind}: ${text}`, 'error');
    this.dispatchEvent(new events.EventChaosViolation({ detail: v }));
    return v;
  }

  public newOp(op: Omit<OpRecord, 'id' | 'start'>): OpRecord {
    const rec: OpRecord = { id: this.nextOpId++, ...op, start: this.now() };
    this.ops.push(rec);
    return rec;
  }
}

export default Recorder;
