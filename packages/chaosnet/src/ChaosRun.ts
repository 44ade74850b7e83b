import type Logger from '@matrixai/logger';
import type { ChaosLab, ChaosNode } from './lab.js';
import type {
  ChaosReport,
  ConvergenceRecord,
  NetworkSnapshot,
  NodeView,
  Path,
  Sample,
  Scenario,
} from './types.js';
import { Random } from '@node-network/netsim';
import Agent from './Agent.js';
import Conductor from './Conductor.js';
import Invariants from './Invariants.js';
import Recorder from './Recorder.js';
import * as events from './events.js';
import { summarise } from './report.js';
import { assignKinds, pairKey, shuffle, sleep } from './utils.js';

const paths: ReadonlyArray<Path> = ['direct', 'punched', 'relayed', 'http-relay'];

/**
 * One chaos run: builds the lab's nodes from the scenario, lets every node's
 * agent work while the conductor injects faults, samples the network and
 * checks the invariants as it goes, then (after the last fault) checks that
 * every live pair connects within the bound, and returns the report.
 * `snapshot()` gives the live network at any time (the dashboard's view);
 * each sample is also dispatched as an `EventChaosSnapshot`.
 */
class ChaosRun extends EventTarget {
  public readonly scenario: Scenario;
  public readonly lab: ChaosLab;
  public readonly recorder: Recorder;
  public readonly invariants: Invariants;
  public readonly samples: Array<Sample> = [];
  protected conductor?: Conductor;
  protected agents: Array<Agent> = [];
  protected views = new Map<string, NodeView>();
  protected logger?: Logger;
  protected sampling = false;
  protected samplingLoop?: Promise<void>;
  protected convergence: Array<ConvergenceRecord> = [];
  protected lastFaultEndedAt = 0;
  protected chaosEnd = 0;

  public constructor({
    scenario,
    lab,
    logger,
  }: {
    scenario: Scenario;
    lab: ChaosLab;
    logger?: Logger;
  }) {
    super();
    this.scenario = scenario;
    this.lab = lab;
    this.logger = logger;
    this.recorder = new Recorder(lab.clock);
    this.invariants = new Invariants({ recorder: this.recorder, scenario });
    // Re-dispatch the recorder's events from the run.
    for (const type of [events.EventChaosLog.name, events.EventChaosViolation.name]) {
      this.recorder.addEventListener(type, (e) =>
        this.dispatchEvent((e as events.EventChaos<unknown>).clone()),
      );
    }
  }

  public async run(): Promise<ChaosReport> {
    const wall0 = performance.now();
    const s = this.scenario;
    const kinds = assignKinds(s, new Random(s.seed));
    this.lab.onCrash = (node, text) =>
      this.recorder.violation('crash', `${node.name} ${text}`, node.name);
    this.logger?.info(`building ${s.nodes} nodes on ${this.lab.lab}`);
    await this.lab.start(kinds);
    this.recorder.resetOrigin();
    this.recorder.log(
      'phase',
      `chaos phase: ${s.nodes} nodes (${this.kindSummary()}) and ${this.lab.helpers.length} helpers on ${this.lab.lab}, ${s.durationMs} ms, seed ${s.seed}`,
    );
    this.chaosEnd = s.durationMs;
    this.startSampling();
    const conductor = new Conductor({
      scenario: s,
      lab: this.lab,
      recorder: this.recorder,
      invariants: this.invariants,
    });
    this.conductor = conductor;
    conductor.start(s.durationMs);
    const all = this.lab.nodes;
    this.agents = all.map(
      (node, i) =>
        new Agent({
          node,
          peers: all.filter((p) => p !== node),
          helpers: this.lab.helpers,
          random: new Random((s.seed * 1_000_003 + i * 7919 + 17) >>> 0),
          work: s.work,
          recorder: this.recorder,
          invariants: this.invariants,
        }),
    );
    for (const a of this.agents) {
      a.start(s.durationMs);
      a.startMaintenance(15_000);
    }
    await sleep(this.lab.clock, s.durationMs);
    await conductor.finish();
    await Promise.all(this.agents.map((a) => a.stop()));
    this.lastFaultEndedAt = conductor.lastFaultEndedAt;
    this.recorder.log(
      'phase',
      `chaos phase over: ${conductor.applied} faults, the last undone at ${this.lastFaultEndedAt} ms; ${this.invariants.inFlight()} operations still in flight`,
    );
    await this.invariants.drain(s.work.opTimeoutMs + s.invariants.graceMs);
    await this.checkConvergence();
    await Promise.all(this.agents.map((a) => a.stopMaintenance()));
    await this.stopSampling();
    await this.sample();
    this.invariants.checkGrowth(this.samples, this.chaosEnd);
    this.recorder.log(
      'phase',
      `run over: ${this.recorder.violations.length} invariant violations`,
      this.recorder.violations.length > 0 ? 'error' : 'info',
    );
    return this.report(performance.now() - wall0);
  }

  protected kindSummary(): string {
    const counts = new Map<string, number>();
    for (const n of this.lab.nodes) counts.set(n.kind, (counts.get(n.kind) ?? 0) + 1);
    return [...counts].map(([k, c]) => `${c} ${k}`).join(', ');
  }

  protected startSampling(): void {
    this.sampling = true;
    this.samplingLoop = (async () => {
      while (this.sampling) {
        await this.sample();
        await sleep(this.lab.clock, this.scenario.invariants.sampleIntervalMs);
      }
    })();
  }

  protected async stopSampling(): Promise<void> {
    this.sampling = false;
    await this.samplingLoop;
  }

  /** Takes one sample: every node's view, links by path, growth bounds; dispatches the snapshot. */
  public async sample(): Promise<Sample> {
    const all = [...this.lab.helpers, ...this.lab.nodes];
    const views = await Promise.all(
      all.map((n) =>
        n
          .view()
          .catch((): NodeView => ({ up: false, connections: [], knownNodes: 0, addresses: [] })),
      ),
    );
    this.views = new Map(all.map((n, i) => [n.name, views[i]]));
    this.invariants.checkViews(this.views);
    const linkMap = this.linkMap();
    const links = Object.fromEntries(paths.map((p) => [p, 0])) as Record<Path, number>;
    for (const p of linkMap.values()) links[p]++;
    const up = this.lab.nodes.filter((n) => this.views.get(n.name)?.up === true);
    let connected = 0;
    for (let i = 0; i < up.length; i++) {
      for (let j = i + 1; j < up.length; j++) {
        if (linkMap.has(pairKey(up[i].name, up[j].name))) connected++;
      }
    }
    const pairs = (up.length * (up.length - 1)) / 2;
    const live = [...this.views.values()].filter((v) => v.up);
    const sample: Sample = {
      time: this.recorder.now(),
      liveNodes: up.length,
      links,
      connectedShare: pairs === 0 ? 0 : Math.round((connected / pairs) * 1000) / 1000,
      maxConnections: Math.max(0, ...live.map((v) => v.connections.length)),
      maxKnownNodes: Math.max(0, ...live.map((v) => v.knownNodes)),
      memoryMiB: Math.round((await this.lab.memoryMiB()) * 10) / 10,
      ...(this.lab.pendingTimers != null ? { pendingTimers: this.lab.pendingTimers() } : {}),
    };
    this.samples.push(sample);
    this.dispatchEvent(new events.EventChaosSnapshot({ detail: this.snapshot() }));
    return sample;
  }

  /** Unordered pairs of named nodes holding a live connection, with its path. */
  protected linkMap(): Map<string, Path> {
    const all = [...this.lab.helpers, ...this.lab.nodes];
    const byId = new Map(all.map((n) => [n.nodeId, n.name]));
    const out = new Map<string, Path>();
    for (const n of all) {
      const v = this.views.get(n.name);
      if (v?.up !== true) continue;
      for (const c of v.connections) {
        const peer = byId.get(c.nodeId);
        if (peer == null || this.views.get(peer)?.up !== true) continue;
        const k = pairKey(n.name, peer);
        if (!out.has(k)) out.set(k, c.path);
      }
    }
    return out;
  }

  /**
   * Eventual connectivity: after the last fault, every pair of live nodes
   * (or a seeded sample of pairs) must connect by NodeId within
   * `convergenceMs` of its first attempt; attempts repeat until then. A pair
   * that connected is disconnected again (unless it was connected before),
   * so the check does not fill the relays' quotas.
   */
  protected async checkConvergence(): Promise<void> {
    const s = this.scenario;
    const up = this.lab.nodes.filter((n) => n.up);
    let pairs: Array<[ChaosNode, ChaosNode]> = [];
    for (let i = 0; i < up.length; i++) {
      for (let j = i + 1; j < up.length; j++) pairs.push([up[i], up[j]]);
    }
    if (s.invariants.convergencePairs !== 'all') {
      pairs = shuffle(new Random(s.seed ^ 0xc0_4e_46), pairs).slice(
        0,
        s.invariants.convergencePairs,
      );
    }
    this.recorder.log(
      'phase',
      `convergence check: ${pairs.length} pairs of ${up.length} live nodes, each must connect within ${s.invariants.convergenceMs} ms`,
    );
    const queue = [...pairs];
    const busy = new Set<string>();
    const worker = async () => {
      for (;;) {
        // A node takes part in one check at a time: its attempts do not crowd each other.
        const i = queue.findIndex(([a, b]) => !busy.has(a.name) && !busy.has(b.name));
        if (i < 0) {
          if (queue.length === 0) return;
          await sleep(this.lab.clock, 50);
          continue;
        }
        const [[a, b]] = queue.splice(i, 1);
        busy.add(a.name);
        busy.add(b.name);
        try {
          this.convergence.push(await this.convergePair(a, b));
        } finally {
          busy.delete(a.name);
          busy.delete(b.name);
        }
      }
    };
    const workers = Math.max(1, Math.min(8, Math.floor(up.length / 3)));
    await Promise.all(Array.from({ length: workers }, worker));
    const failed = this.convergence.filter((c) => !c.connected);
    this.recorder.log(
      'phase',
      `convergence: ${this.convergence.length - failed.length}/${this.convergence.length} pairs connected`,
      failed.length > 0 ? 'error' : 'info',
    );
  }

  protected async convergePair(a: ChaosNode, b: ChaosNode): Promise<ConvergenceRecord> {
    const s = this.scenario;
    const first = this.recorder.now();
    const bound = s.invariants.convergenceMs;
    let attempts = 0;
    let error: string | undefined;
    while (this.recorder.now() - first < bound) {
      if (!a.up || !b.up) {
        // Not live any more (a crash, recorded as such): nothing to converge.
        return { a: a.name, b: b.name, connected: false, attempts, error: 'a node went down' };
      }
      attempts++;
      const timeout = Math.max(
        1_000,
        Math.min(s.work.opTimeoutMs, bound - (this.recorder.now() - first)),
      );
      const rec = this.recorder.newOp({
        node: a.name,
        kind: 'connect',
        target: b.name,
        by: 'convergence',
      });
      const r = await this.invariants.runOp(a, rec, timeout, () => a.connect(b.nodeId, timeout));
      if (r != null) {
        rec.path = r.path;
        rec.connectMs = r.connectMs;
        rec.reused = r.reused;
        const at = this.recorder.now();
        if (!r.reused) await a.disconnect(b.nodeId).catch(() => {});
        return {
          a: a.name,
          b: b.name,
          connected: true,
          afterLastFaultMs: Math.round(at - this.lastFaultEndedAt),
          attempts,
          path: r.path,
        };
      }
      error = `${rec.error}: ${rec.errorMessage}`;
      await sleep(this.lab.clock, 1_000);
    }
    this.recorder.violation(
      'no-convergence',
      `${a.name} (${a.kind}) and ${b.name} (${b.kind}) are both live but did not connect within ${bound} ms (${attempts} attempts; last: ${error})`,
      a.name,
    );
    return {
      a: a.name,
      b: b.name,
      connected: false,
      attempts,
      ...(error != null ? { error } : {}),
    };
  }

  /** The live network as the dashboard renders it (views as of the last sample). */
  public snapshot(): NetworkSnapshot {
    const r = this.recorder;
    const last = this.samples.at(-1);
    const nodes = [...this.lab.helpers, ...this.lab.nodes].map((n) => ({
      id: n.nodeId,
      label: n.name,
      nat: n.helper ? 'open' : n.kind,
      up: n.up,
      ...(n.helper ? { relay: true } : {}),
      addresses: this.views.get(n.name)?.addresses ?? [],
    }));
    const byName = new Map([...this.lab.helpers, ...this.lab.nodes].map((n) => [n.name, n.nodeId]));
    const links = [...this.linkMap()].map(([k, path]) => {
      const [a, b] = k.split('|');
      return { a: byName.get(a)!, b: byName.get(b)!, path };
    });
    return {
      time: r.now(),
      source: 'chaosnet',
      title: `${this.scenario.name} on ${this.lab.lab} (seed ${this.scenario.seed})`,
      nodes,
      links,
      events: r.events.slice(-200).map((e) => ({ ...e })),
      stats: {
        liveNodes: last?.liveNodes ?? 0,
        ops: r.ops.length,
        opsOk: r.ops.filter((o) => o.outcome === 'ok').length,
        opsFailed: r.ops.filter((o) => o.outcome === 'failed').length,
        faults: this.conductor?.applied ?? 0,
        violations: r.violations.length,
        connectedShare: last?.connectedShare ?? 0,
      },
    };
  }

  protected report(wallMs: number): ChaosReport {
    const r = this.recorder;
    const report: ChaosReport = {
      scenario: this.scenario,
      lab: this.lab.lab,
      seed: this.scenario.seed,
      startedAt: 0,
      lastFaultEndedAt: this.lastFaultEndedAt,
      endedAt: r.now(),
      wallMs: Math.round(wallMs),
      nodes: [...this.lab.helpers, ...this.lab.nodes].map((n) => ({
        name: n.name,
        nodeId: n.nodeId,
        kind: n.kind,
        helper: n.helper,
      })),
      summary: undefined as unknown as ChaosReport['summary'],
      samples: this.samples,
      faults: r.events.filter((e) => e.kind.startsWith('fault') || e.kind === 'heal'),
      violations: r.violations,
      convergence: this.convergence,
      ops: r.ops,
      events: r.events,
      snapshot: this.snapshot(),
    };
    report.summary = summarise(report, this.conductor?.applied ?? 0);
    return report;
  }
}

export default ChaosRun;
