import type { ChaosLab, ChaosNode, PartitionHandle } from './lab.js';
import type Invariants from './Invariants.js';
import type Recorder from './Recorder.js';
import type { FaultKind, FaultSpec, ReloadableKind, Scenario } from './types.js';
import { Random } from '@node-network/netsim';
import { renumberableKinds } from './lab.js';
import { reloadableKinds } from './scenario.js';
import { errorParts, pick, shuffle, sleep } from './utils.js';

/** Faults drawn from the seed for `faults.random`, in [from, until], with lengths to fit the run. */
function drawFaults(scenario: Scenario, random: Random): Array<FaultSpec> {
  const r = scenario.faults.random;
  if (r == null) return [];
  const out: Array<FaultSpec> = [];
  const len = () =>
    random.int(
      Math.max(1, Math.round(scenario.durationMs * 0.04)),
      Math.max(1, Math.round(scenario.durationMs * 0.12)),
    );
  for (let i = 0; i < r.count; i++) {
    const kind: FaultKind = pick(random, r.kinds);
    const at = random.int(r.from, r.until);
    switch (kind) {
      case 'kill':
        out.push({ at, kind, node: 'random', downMs: len() });
        break;
      case 'nat':
        out.push({ at, kind, node: 'random', to: 'random' });
        break;
      case 'address':
        out.push({ at, kind, node: 'random' });
        break;
      case 'partition':
        out.push({
          at,
          kind,
          nodes: random.int(1, Math.max(1, Math.floor(scenario.nodes / 4))),
          durationMs: len(),
        });
        break;
      case 'loss':
        out.push({
          at,
          kind,
          node: random.chance(0.2) ? 'all' : 'random',
          percent: pick(random, [5, 10, 20, 50, 100]),
          durationMs: len(),
        });
        break;
      case 'latency':
        out.push({ at, kind, node: 'random', ms: pick(random, [50, 150, 400]), durationMs: len() });
        break;
      case 'kill-relay':
        out.push({ at, kind, downMs: len(), windowMs: 10_000 });
        break;
    }
  }
  return out;
}

/** Every fault of the run: the schedule and the drawn ones, by time (stable). */
function expandFaults(scenario: Scenario, random: Random): Array<FaultSpec> {
  return [...scenario.faults.schedule, ...drawFaults(scenario, random)]
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.at - b.f.at || a.i - b.i)
    .map(({ f }) => f);
}

/**
 * Injects the scenario's faults into a lab on its clock: kill and restart
 * nodes, change a NAT's kind or address, partition and heal, loss and
 * latency, and kill a relay in the middle of a relayed transfer. Each fault
 * is logged when it starts and when it is undone; every fault is undone by
 * the end of the chaos phase, and `lastFaultEndedAt` says when the last one
 * was (the convergence check counts from it). Choices of `random` nodes come
 * from a seeded source at the fault's time.
 */
class Conductor {
  public readonly faults: Array<FaultSpec>;
  public lastFaultEndedAt = 0;
  public applied = 0;
  protected lab: ChaosLab;
  protected scenario: Scenario;
  protected recorder: Recorder;
  protected invariants: Invariants;
  protected random: Random;
  protected tasks: Array<Promise<void>> = [];
  protected end = 0;

  public constructor({
    scenario,
    lab,
    recorder,
    invariants,
  }: {
    scenario: Scenario;
    lab: ChaosLab;
    recorder: Recorder;
    invariants: Invariants;
  }) {
    this.scenario = scenario;
    this.lab = lab;
    this.recorder = recorder;
    this.invariants = invariants;
    this.faults = expandFaults(scenario, new Random(scenario.seed ^ 0x5eed_fa17));
    this.random = new Random(scenario.seed ^ 0x0c0d_ec70);
  }

  /** Schedules every fault; the chaos phase ends at `end` (recorder time). */
  public start(end: number): void {
    this.end = end;
    this.tasks = this.faults.map((f) => this.run(f));
  }

  /** Resolves when every fault has been applied and undone. */
  public async finish(): Promise<void> {
    await Promise.all(this.tasks);
  }

  protected async wait(until: number): Promise<void> {
    const d = until - this.recorder.now();
    if (d > 0) await sleep(this.recorder.clock, d);
  }

  protected ended(): void {
    this.lastFaultEndedAt = Math.max(this.lastFaultEndedAt, this.recorder.now());
  }

  protected until(at: number, durationMs: number): number {
    return Math.min(this.end, this.recorder.now() + durationMs);
  }

  protected find(ref: string, eligible: (n: ChaosNode) => boolean): ChaosNode | undefined {
    if (ref === 'random') {
      const xs = this.lab.nodes.filter(eligible);
      return xs.length === 0 ? undefined : pick(this.random, xs);
    }
    const n = [...this.lab.nodes, ...this.lab.helpers].find((x) => x.name === ref);
    return n != null && eligible(n) ? n : undefined;
  }

  protected label(n: ChaosNode): string {
    return `${n.name} (${n.helper ? (n.relay ? 'relay helper' : 'seed helper') : n.kind})`;
  }

  protected skip(f: FaultSpec, why: string): void {
    this.recorder.log('fault-skipped', `${f.kind} at ${f.at} ms: ${why}`, 'warn');
  }

  protected async run(f: FaultSpec): Promise<void> {
    await this.wait(f.at);
    try {
      await this.apply(f);
    } catch (e) {
      const { name, message } = errorParts(e);
      this.recorder.log(
        'fault-error',
        `${f.kind} at ${f.at} ms failed: ${name}: ${message}`,
        'warn',
      );
      this.ended();
    }
  }

  protected async apply(f: FaultSpec): Promise<void> {
    const lab = this.lab;
    const log = (text: string) => this.recorder.log('fault', text, 'warn');
    const heal = (text: string) => this.recorder.log('heal', text);
    switch (f.kind) {
      case 'kill': {
        const n = this.find(f.node, (x) => x.up);
        if (n == null) return this.skip(f, `no running node ${f.node}`);
        const back = this.until(f.at, f.downMs);
        log(`kill ${this.label(n)}; restart in ${Math.round(back - this.recorder.now())} ms`);
        this.applied++;
        await lab.kill(n);
        await this.wait(back);
        await lab.restart(n);
        heal(`restarted ${this.label(n)}`);
        return this.ended();
      }
      case 'nat': {
        const n = this.find(f.node, (x) => !x.helper && reloadableKinds.includes(x.kind as any));
        if (n == null) return this.skip(f, `no node ${f.node} behind a reloadable NAT`);
        const from = n.kind as ReloadableKind;
        const to: ReloadableKind =
          f.to === 'random'
            ? pick(
                this.random,
                reloadableKinds.filter((k) => k !== from),
              )
            : f.to;
        log(`NAT of ${n.name}: ${from} -> ${to} (rules reloaded, mappings gone)`);
        this.applied++;
        await lab.setNat(n, to);
        if (f.durationMs != null) {
          await this.wait(this.until(f.at, f.durationMs));
          await lab.setNat(n, from);
          heal(`NAT of ${n.name} back to ${from}`);
        }
        return this.ended();
      }
      case 'address': {
        const n = this.find(f.node, (x) => !x.helper && renumberableKinds.includes(x.kind));
        if (n == null) return this.skip(f, `no node ${f.node} behind a NAT to renumber`);
        this.applied++;
        const ip = await lab.changeAddress(n);
        log(`public address of ${this.label(n)} changed to ${ip} (mappings gone)`);
        return this.ended();
      }
      case 'partition': {
        let nodes: Array<ChaosNode>;
        if (typeof f.nodes === 'number') {
          nodes = shuffle(
            this.random,
            lab.nodes.filter((x) => x.up),
          ).slice(0, f.nodes);
        } else {
          nodes = f.nodes.flatMap((ref) => this.find(ref, () => true) ?? []);
        }
        if (nodes.length === 0) return this.skip(f, 'no node to cut off');
        const until = this.until(f.at, f.durationMs);
        log(
          `partition: ${nodes.map((n) => n.name).join(', ')} cut off from every other host for ${Math.round(until - this.recorder.now())} ms`,
        );
        this.applied++;
        const p: PartitionHandle = await lab.partition(nodes);
        await this.wait(until);
        await lab.heal(p);
        heal(`partition of ${p.nodes.join(', ')} healed`);
        return this.ended();
      }
      case 'loss': {
        const n = f.node === 'all' ? 'all' : this.find(f.node, (x) => x.up);
        if (n == null) return this.skip(f, `no running node ${f.node}`);
        const name = n === 'all' ? 'every link' : n.name;
        const until = this.until(f.at, f.durationMs);
        log(`${f.percent}% loss on ${name} for ${Math.round(until - this.recorder.now())} ms`);
        this.applied++;
        await lab.setLoss(n, f.percent);
        await this.wait(until);
        await lab.setLoss(n, 0);
        heal(`loss on ${name} removed`);
        return this.ended();
      }
      case 'latency': {
        const n = this.find(f.node, (x) => x.up);
        if (n == null) return this.skip(f, `no running node ${f.node}`);
        const until = this.until(f.at, f.durationMs);
        this.applied++;
        const how = await lab.setLatency(n, f.ms);
        log(
          `+${f.ms} ms latency on ${n.name} for ${Math.round(until - this.recorder.now())} ms (${how})`,
        );
        await this.wait(until);
        await lab.setLatency(n, 0);
        heal(`latency on ${n.name} removed`);
        return this.ended();
      }
      case 'kill-relay':
        return this.killRelay(f);
    }
  }

  /**
   * Finds (or makes) a relayed connection between two running nodes, starts
   * a large transfer over it, and kills the relay in the middle. The
   * transfer must still complete intact or fail with a typed error in time.
   */
  protected async killRelay(f: FaultSpec & { kind: 'kill-relay' }): Promise<void> {
    const lab = this.lab;
    const all = [...lab.nodes, ...lab.helpers];
    const byId = new Map(all.map((n) => [n.nodeId, n]));
    const deadline = this.recorder.now() + f.windowMs;
    const timeout = this.scenario.work.opTimeoutMs;
    let found: { a: ChaosNode; b: ChaosNode; relay: ChaosNode } | undefined;
    const hard = new Set(['symmetric', 'udp-blocked', 'double-nat', 'port-restricted']);
    const candidates = shuffle(
      this.random,
      lab.nodes.filter((n) => n.up && hard.has(n.kind)),
    );
    // Pairs already relayed first, then pairs of hard kinds connected on purpose.
    for (const a of lab.nodes.filter((n) => n.up)) {
      if (found != null) break;
      for (const c of (await a.view()).connections) {
        const b = byId.get(c.nodeId);
        const relay = c.relay != null ? byId.get(c.relay) : undefined;
        if (b != null && !b.helper && b.up && relay?.up === true) {
          found = { a, b, relay };
          break;
        }
      }
    }
    for (let i = 0; found == null && i + 1 < candidates.length; i += 2) {
      if (this.recorder.now() >= deadline) break;
      const [a, b] = [candidates[i], candidates[i + 1]];
      const rec = this.recorder.newOp({
        node: a.name,
        kind: 'connect',
        target: b.name,
        by: 'conductor',
      });
      const r = await this.invariants.runOp(a, rec, timeout, () => a.connect(b.nodeId, timeout));
      if (r == null) continue;
      rec.path = r.path;
      const c = (await a.view()).connections.find((x) => x.nodeId === b.nodeId);
      const relay = c?.relay != null ? byId.get(c.relay) : undefined;
      if (relay?.up === true) found = { a, b, relay };
    }
    if (found == null) return this.skip(f, 'no relayed connection between running nodes');
    const { a, b, relay } = found;
    const bytes = lab.lab === 'sim' ? 2 * 2 ** 20 : 32 * 2 ** 20;
    const rec = this.recorder.newOp({
      node: a.name,
      kind: 'transfer',
      target: b.name,
      bytes,
      by: 'conductor',
    });
    const transfer = this.invariants.runOp(
      a,
      rec,
      timeout,
      () => a.transfer(b.nodeId, bytes, this.random.int(0, 0xffffffff), timeout),
      (r) => this.invariants.checkTransfer(rec, r),
    );
    await sleep(this.recorder.clock, lab.lab === 'sim' ? 150 : 400);
    const back = this.until(f.at, f.downMs);
    this.recorder.log(
      'fault',
      `kill relay ${this.label(relay)} in the middle of transfer #${rec.id} ${a.name} -> ${b.name} (${bytes} bytes); restart in ${Math.round(back - this.recorder.now())} ms`,
      'warn',
    );
    this.applied++;
    await lab.kill(relay);
    await transfer;
    this.recorder.log(
      'fault-result',
      `transfer #${rec.id} through the killed relay: ${rec.outcome}${rec.error != null ? ` (${rec.error})` : ''}`,
    );
    await this.wait(back);
    await lab.restart(relay);
    this.recorder.log('heal', `restarted ${this.label(relay)}`);
    this.ended();
  }
}

export default Conductor;
export { expandFaults, drawFaults };
