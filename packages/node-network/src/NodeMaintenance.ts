import type { Clock, NodeId, TimerHandle } from '@node-network/network-interface';
import type { NodeGraph } from '@node-network/nodegraph';
import Logger from '@matrixai/logger';
import { utils as graphUtils } from '@node-network/nodegraph';

type NodeMaintenanceConfig = {
  /** Time between maintenance passes, ms. */
  intervalTime: number;
  /** Time between full GC passes, ms (a GC pass runs in the maintenance pass that follows). */
  gcIntervalTime: number;
  /** Stale buckets refreshed per pass (each refresh is one lookup). */
  refreshesPerPass: number;
  /** Limit of one ping-before-evict ping, ms. */
  pingTimeoutTime: number;
  /** Buckets whose ping-before-evict runs at once. */
  evictionConcurrency: number;
};

const nodeMaintenanceConfigDefault: NodeMaintenanceConfig = {
  intervalTime: 60_000,
  gcIntervalTime: 600_000,
  refreshesPerPass: 4,
  pingTimeoutTime: 5_000,
  evictionConcurrency: 3,
};

type MaintenanceReport = {
  /** Candidates that waited for a full bucket before this pass. */
  pendingBefore: number;
  refreshed: Array<{ bucket: number; ok: boolean; queries?: number; error?: string }>;
  gc?: { scanned: number; addressesDropped: number; contactsRemoved: number };
};

/**
 * The NodeGraph's background work for a running node, on the injected
 * clock: each pass (every `intervalTime`) runs Kademlia's ping-before-evict
 * for candidates waiting on full buckets, refreshes a few buckets no lookup
 * touched for the table's `refreshInterval` (a lookup for a random id in
 * each), and every `gcIntervalTime` a GC pass. One pass at a time; a pass
 * that fails is logged and the next one runs on schedule. The table's own
 * decisions (evicted, kept, address dropped) are its events; the facade
 * turns them into audit records.
 */
class NodeMaintenance {
  public readonly config: NodeMaintenanceConfig;
  protected graph: NodeGraph;
  protected clock: Clock;
  protected ping: (nodeId: NodeId, timeoutTime: number) => Promise<boolean>;
  protected lookup: (target: NodeId) => Promise<{ queries: number }>;
  protected randomBytes: (n: number) => Uint8Array;
  protected onReport: (r: MaintenanceReport) => void;
  protected logger: Logger;
  protected timer?: TimerHandle;
  protected running?: Promise<void>;
  protected lastGc: number;
  protected stopped = true;

  public constructor({
    graph,
    clock,
    ping,
    lookup,
    randomBytes,
    onReport = () => {},
    config = {},
    logger,
  }: {
    graph: NodeGraph;
    clock: Clock;
    /** Connects if needed and pings; true when the node answered. */
    ping: NodeMaintenance['ping'];
    /** A Kademlia lookup for `target`. */
    lookup: NodeMaintenance['lookup'];
    randomBytes: NodeMaintenance['randomBytes'];
    onReport?: NodeMaintenance['onReport'];
    config?: Partial<NodeMaintenanceConfig>;
    logger?: Logger;
  }) {
    this.graph = graph;
    this.clock = clock;
    this.ping = ping;
    this.lookup = lookup;
    this.randomBytes = randomBytes;
    this.onReport = onReport;
    this.config = { ...nodeMaintenanceConfigDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
    this.lastGc = clock.now();
  }

  public start(): void {
    this.stopped = false;
    this.lastGc = this.clock.now();
    this.schedule();
  }

  /** Cancels the schedule and waits for a pass under way. */
  public async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  /**
   * One pass now (also what the schedule runs). `gc: true` forces the GC
   * pass whatever its interval. Passes do not overlap: a call during a pass
   * waits for it and then runs its own.
   */
  public async runPass({ gc = false }: { gc?: boolean } = {}): Promise<MaintenanceReport> {
    while (this.running != null) await this.running;
    let report!: MaintenanceReport;
    const p = (async () => {
      report = await this.pass(gc);
    })();
    this.running = p.then(
      () => {},
      () => {},
    );
    try {
      await p;
    } finally {
      this.running = undefined;
    }
    this.onReport(report);
    return report;
  }

  protected schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(this.config.intervalTime, () => {
      this.timer = undefined;
      if (this.stopped) return;
      this.runPass()
        .catch((e) => this.logger.warn(`Maintenance pass failed: ${(e as Error).message}`))
        .finally(() => this.schedule());
    });
  }

  protected async pass(forceGc: boolean): Promise<MaintenanceReport> {
    const report: MaintenanceReport = { pendingBefore: this.graph.pendingCount(), refreshed: [] };
    if (report.pendingBefore > 0) {
      await this.graph.processPendingEvictions(
        (id) => this.ping(id, this.config.pingTimeoutTime),
        () => this.clock.wallTime(),
        this.config.evictionConcurrency,
      );
    }
    const stale = await this.graph.staleBuckets(this.clock.wallTime());
    // Farthest buckets first: they hold most of the network.
    stale.sort((a, b) => b - a);
    for (const bucket of stale.slice(0, this.config.refreshesPerPass)) {
      if (this.stopped) break;
      const target = this.randomIdIn(bucket);
      try {
        const r = await this.lookup(target);
        report.refreshed.push({ bucket, ok: true, queries: r.queries });
      } catch (e) {
        report.refreshed.push({ bucket, ok: false, error: (e as Error).message });
      }
      await this.graph.markRefreshed(bucket, this.clock.wallTime());
    }
    if (forceGc || this.clock.now() - this.lastGc >= this.config.gcIntervalTime) {
      this.lastGc = this.clock.now();
      report.gc = await this.graph.gc(this.clock.wallTime());
    }
    return report;
  }

  /** A random id in `bucket` of our table: our id with bit `bucket` flipped and the bits below random. */
  protected randomIdIn(bucket: number): NodeId {
    const own = graphUtils.toBig(this.graph.nodeId);
    const below = (1n << BigInt(bucket)) - 1n;
    const r = graphUtils.toBig(this.randomBytes(32)) & below;
    const id = own ^ (1n << BigInt(bucket)) ^ r;
    return new Uint8Array(graphUtils.toKey(id)) as NodeId;
  }
}

export default NodeMaintenance;
export { nodeMaintenanceConfigDefault };
export type { NodeMaintenanceConfig, MaintenanceReport };
