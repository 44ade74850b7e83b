import type { ChaosNode } from './lab.js';
import type Recorder from './Recorder.js';
import type { NodeView, OpRecord, Sample, Scenario, ViolationKind } from './types.js';
import type { TransferOutcome } from './ops.js';
import { errorParts, typedErrorName } from './utils.js';

/**
 * The invariants, checked while the run goes:
 * - integrity: no transfer (or echo) delivers altered bytes;
 * - settlement: every operation completes or fails with a typed error, and
 *   settles by its timeout (plus `graceMs`): a watchdog on the lab's clock
 *   flags any that has not, whether it settles later or never;
 * - bounded growth: connections and known nodes per node stay under their
 *   bounds at every sample; memory (and netsim's pending timers) at the end
 *   stay within `memoryGrowthFactor` of the level after warm-up.
 * Eventual connectivity is checked by `ChaosRun` after the last fault.
 * Each violation is recorded once per node and kind for the growth checks
 * (a bound crossed stays crossed), every time for the others.
 */
class Invariants {
  protected recorder: Recorder;
  protected scenario: Scenario;
  protected grown = new Set<string>();
  public settled = 0;
  protected pending = new Set<Promise<unknown>>();

  public constructor({ recorder, scenario }: { recorder: Recorder; scenario: Scenario }) {
    this.recorder = recorder;
    this.scenario = scenario;
  }

  /** Operations still in flight. */
  public inFlight(): number {
    return this.pending.size;
  }

  /** Waits until every operation in flight has settled or `ms` have passed on the clock. */
  public async drain(ms: number): Promise<void> {
    const clock = this.recorder.clock;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((r) => clock.setTimer(ms, r)),
    ]);
  }

  /**
   * Runs one operation of `node` under the settlement watchdog, records its
   * outcome on `rec`, and checks what it returned with `check`.
   */
  public async runOp<R>(
    node: ChaosNode,
    rec: OpRecord,
    timeoutMs: number,
    f: () => Promise<R>,
    check: (r: R) => void = () => {},
  ): Promise<R | undefined> {
    const clock = this.recorder.clock;
    const incarnation = node.incarnation;
    const limit = timeoutMs + this.scenario.invariants.graceMs;
    const lateAt = timeoutMs + this.scenario.invariants.lateMs;
    let hung = false;
    const late =
      lateAt < limit
        ? clock.setTimer(lateAt, () => {
            if (rec.outcome != null || node.incarnation !== incarnation) return;
            rec.lateBy = -1;
            this.recorder.log(
              'late',
              `${rec.kind} #${rec.id} ${rec.node} -> ${rec.target} has not settled ${lateAt} ms after it started (timeout ${timeoutMs} ms)`,
              'warn',
            );
          })
        : undefined;
    const watchdog = clock.setTimer(limit, () => {
      if (rec.outcome != null || node.incarnation !== incarnation) return;
      hung = true;
      this.recorder.violation(
        'hang',
        `${rec.kind} #${rec.id} ${rec.node} -> ${rec.target} has not settled ${limit} ms after it started (timeout ${timeoutMs} ms)`,
        rec.node,
      );
    });
    const p = f();
    this.pending.add(p);
    try {
      const r = await p;
      rec.outcome = 'ok';
      check(r);
      return r;
    } catch (e) {
      const { name, message } = errorParts(e);
      rec.error = name;
      rec.errorMessage = message;
      if (node.incarnation !== incarnation) {
        rec.outcome = 'aborted';
      } else {
        rec.outcome = 'failed';
        if (typedErrorName(e) == null) {
          this.recorder.violation(
            'untyped-error',
            `${rec.kind} #${rec.id} ${rec.node} -> ${rec.target} failed with an untyped ${name}: ${message}`,
            rec.node,
          );
        }
      }
      return undefined;
    } finally {
      this.pending.delete(p);
      watchdog.cancel();
      late?.cancel();
      rec.end = this.recorder.now();
      if (rec.lateBy != null) rec.lateBy = Math.round(rec.end - rec.start - timeoutMs);
      this.settled++;
      if (hung) rec.errorMessage = `${rec.errorMessage ?? ''} (settled late, after the watchdog)`;
    }
  }

  /** The integrity check of a transfer's answer. */
  public checkTransfer(rec: OpRecord, r: TransferOutcome): void {
    rec.bytes = r.sent;
    rec.path = r.path;
    if (r.received !== r.sent || r.receivedSha256 !== r.sentSha256) {
      this.recorder.violation(
        'altered-bytes',
        `transfer #${rec.id} ${rec.node} -> ${rec.target} (${r.path}): sent ${r.sent} bytes sha256 ${r.sentSha256.slice(0, 16)}…, the sink got ${r.received} bytes sha256 ${r.receivedSha256.slice(0, 16)}…`,
        rec.node,
      );
    }
  }

  public checkEcho(rec: OpRecord, echoed: boolean): void {
    if (!echoed) {
      this.recorder.violation(
        'altered-bytes',
        `rpc #${rec.id} ${rec.node} -> ${rec.target}: the echo came back different`,
        rec.node,
      );
    }
  }

  /** Growth bounds per node at one sample. */
  public checkViews(views: ReadonlyMap<string, NodeView>): void {
    const inv = this.scenario.invariants;
    for (const [name, v] of views) {
      if (!v.up) continue;
      this.bound(
        'growth-connections',
        name,
        v.connections.length,
        inv.maxConnectionsPerNode,
        'connections',
      );
      this.bound('growth-table', name, v.knownNodes, inv.maxKnownNodes, 'known nodes');
    }
  }

  protected bound(
    kind: ViolationKind,
    node: string,
    value: number,
    max: number,
    what: string,
  ): void {
    const k = `${kind}|${node}`;
    if (value <= max || this.grown.has(k)) return;
    this.grown.add(k);
    this.recorder.violation(kind, `${node} holds ${value} ${what} (bound ${max})`, node);
  }

  /**
   * Memory and pending timers at the end against their level after warm-up
   * (the median of the samples in the second quarter of the chaos phase).
   */
  public checkGrowth(samples: ReadonlyArray<Sample>, chaosEnd: number): void {
    const f = this.scenario.invariants.memoryGrowthFactor;
    const warm = samples.filter((s) => s.time >= chaosEnd * 0.25 && s.time <= chaosEnd * 0.5);
    const tail = samples.slice(-3);
    if (warm.length === 0 || tail.length === 0) return;
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const m0 = median(warm.map((s) => s.memoryMiB));
    const m1 = median(tail.map((s) => s.memoryMiB));
    if (m1 > m0 * f + 64) {
      this.recorder.violation(
        'growth-memory',
        `memory grew from ${m0.toFixed(0)} MiB after warm-up to ${m1.toFixed(0)} MiB at the end (bound ${f}x + 64 MiB)`,
      );
    }
    const t0 = warm.map((s) => s.pendingTimers).filter((x): x is number => x != null);
    const t1 = tail.map((s) => s.pendingTimers).filter((x): x is number => x != null);
    if (t0.length > 0 && t1.length > 0) {
      const a = median(t0);
      const b = median(t1);
      if (b > a * f + 10_000) {
        this.recorder.violation(
          'growth-timers',
          `pending timers grew from ${a} after warm-up to ${b} at the end (bound ${f}x + 10000)`,
        );
      }
    }
  }
}

export default Invariants;
