import type { Random } from '@node-network/netsim';
import type { ChaosNode } from './lab.js';
import type Invariants from './Invariants.js';
import type Recorder from './Recorder.js';
import type { OpKind, Scenario } from './types.js';
import { reachableHelpers } from './lab.js';
import { pick, pickWeighted, sleep } from './utils.js';

/**
 * One node's autonomous work: a loop of random operations (connect to a
 * random node by NodeId, an echo RPC, a bulk transfer checked end to end by
 * SHA-256, a lookup through a connected peer, a disconnect), each under the
 * invariants' watchdog. Every choice comes from its own seeded `Random` and
 * every pause from the lab's clock, so on netsim a seed gives the same work.
 * One operation at a time; nothing while its node is down.
 */
class Agent {
  public readonly node: ChaosNode;
  protected peers: ReadonlyArray<ChaosNode>;
  protected helpers: ReadonlyArray<ChaosNode>;
  protected random: Random;
  protected work: Scenario['work'];
  protected recorder: Recorder;
  protected invariants: Invariants;
  protected stopped = false;
  protected loop?: Promise<void>;
  protected maintaining = false;
  protected maintenance?: Promise<void>;
  public opsRun = 0;

  public constructor({
    node,
    peers,
    helpers = [],
    random,
    work,
    recorder,
    invariants,
  }: {
    node: ChaosNode;
    /** The nodes it works with (itself excluded). */
    peers: ReadonlyArray<ChaosNode>;
    /** The public helpers (seeds, relay): kept connected, as a NodeGraph's maintenance would. */
    helpers?: ReadonlyArray<ChaosNode>;
    random: Random;
    work: Scenario['work'];
    recorder: Recorder;
    invariants: Invariants;
  }) {
    this.node = node;
    this.peers = peers;
    this.helpers = helpers;
    this.random = random;
    this.work = work;
    this.recorder = recorder;
    this.invariants = invariants;
  }

  /** Works until `until` (the recorder's time) or `stop`. */
  public start(until: number): void {
    this.loop = this.run(until);
  }

  /** Stops starting operations; resolves when the current one has settled. */
  public async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /**
   * The node's upkeep, apart from the random work and until `stopMaintenance`:
   * every `everyMs` it connects again to each helper it can reach that it is
   * not connected to (a restarted seed or relay is found again, as a
   * NodeGraph's maintenance would; the chaos labs run without one).
   */
  public startMaintenance(everyMs: number): void {
    this.maintaining = true;
    this.maintenance = (async () => {
      const clock = this.recorder.clock;
      const timeout = this.work.opTimeoutMs;
      // A seeded phase, so the nodes do not all go at once.
      await sleep(clock, this.random.int(0, everyMs));
      while (this.maintaining) {
        if (this.node.up) await this.maintain(timeout);
        await sleep(clock, everyMs);
      }
    })();
  }

  /** Reconnects to each reachable helper it is not connected to (one pass). */
  protected async maintain(timeout: number): Promise<void> {
    const view = await this.node.view().catch(() => undefined);
    if (view == null || !view.up) return;
    const connected = new Set(view.connections.map((c) => c.nodeId));
    for (const h of reachableHelpers(this.node.kind, this.helpers)) {
      if (!this.maintaining || !this.node.up || !h.up || connected.has(h.nodeId)) continue;
      const rec = this.recorder.newOp({
        node: this.node.name,
        kind: 'connect',
        target: h.name,
        by: 'maintenance',
      });
      await this.invariants.runOp(
        this.node,
        rec,
        timeout,
        () => this.node.connect(h.nodeId, timeout),
        (r) => {
          rec.path = r.path;
          rec.connectMs = r.connectMs;
          rec.reused = r.reused;
        },
      );
    }
  }

  public async stopMaintenance(): Promise<void> {
    this.maintaining = false;
    await this.maintenance;
  }

  protected async run(until: number): Promise<void> {
    const clock = this.recorder.clock;
    const [lo, hi] = this.work.intervalMs;
    while (!this.stopped) {
      await sleep(clock, this.random.int(lo, hi));
      if (this.stopped || this.recorder.now() >= until) break;
      if (!this.node.up) continue;
      await this.step(pickWeighted(this.random, this.work.weights));
    }
  }

  /** One operation of `kind` toward a random peer. */
  public async step(kind: OpKind): Promise<void> {
    const target = pick(this.random, this.peers);
    const timeout = this.work.opTimeoutMs;
    const inv = this.invariants;
    const node = this.node;
    this.opsRun++;
    switch (kind) {
      case 'connect': {
        const rec = this.recorder.newOp({ node: node.name, kind, target: target.name });
        await inv.runOp(
          node,
          rec,
          timeout,
          () => node.connect(target.nodeId, timeout),
          (r) => {
            rec.path = r.path;
            rec.connectMs = r.connectMs;
            rec.reused = r.reused;
          },
        );
        return;
      }
      case 'rpc': {
        const data = `${node.name}->${target.name}#${this.random.int(0, 0xffffffff).toString(16)}`;
        const rec = this.recorder.newOp({ node: node.name, kind, target: target.name });
        await inv.runOp(
          node,
          rec,
          timeout,
          () => node.echo(target.nodeId, data, timeout),
          (r) => {
            rec.path = r.path;
            inv.checkEcho(rec, r.echoed);
          },
        );
        return;
      }
      case 'transfer': {
        const [lo, hi] = this.work.transferBytes;
        const bytes = this.random.int(lo, hi);
        const seed = this.random.int(0, 0xffffffff);
        const rec = this.recorder.newOp({ node: node.name, kind, target: target.name, bytes });
        await inv.runOp(
          node,
          rec,
          timeout,
          () => node.transfer(target.nodeId, bytes, seed, timeout),
          (r) => inv.checkTransfer(rec, r),
        );
        return;
      }
      case 'lookup': {
        // Ask another peer (connecting to it first) where the target is.
        const others = this.peers.filter((p) => p !== target);
        const via = others.length > 0 ? pick(this.random, others) : target;
        const rec = this.recorder.newOp({ node: node.name, kind, target: target.name });
        await inv.runOp(
          node,
          rec,
          timeout,
          () => node.lookup(via.nodeId, target.nodeId, timeout),
          (r) => {
            rec.path = r.path;
          },
        );
        return;
      }
      case 'disconnect': {
        const rec = this.recorder.newOp({ node: node.name, kind, target: target.name });
        await inv.runOp(node, rec, timeout, () => node.disconnect(target.nodeId));
        return;
      }
    }
  }
}

export default Agent;
