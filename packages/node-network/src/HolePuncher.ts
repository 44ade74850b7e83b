import type {
  Address,
  Clock,
  Connection,
  NodeId,
  TimerHandle,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { AuditRecord, NodeConnection, NodeConnectionManager } from '@node-network/transport';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { signal } from '@node-network/signalling';
import { addresses as addressUtils, isRelayed } from '@node-network/transport';

type HolePuncherConfig = signal.PunchStrategyConfig & {
  /** How long each side punches and dials after the answer (both NATs endpoint-independent), ms. */
  punchDuration: number;
  /** The same when one side is endpoint-dependent (birthday punching), ms. */
  hardPunchDuration: number;
  /** Punching when both NATs are endpoint-dependent (unlikely to work; a relay follows), ms. */
  unlikelyPunchDuration: number;
  /** Time between punch datagrams to each candidate, ms. */
  punchInterval: number;
  /** Time between rounds of punches from the extra sockets, ms (each round also refreshes their mappings). */
  socketsPunchInterval: number;
  /** Ports probed per second on an endpoint-dependent peer. */
  probeRate: number;
  /**
   * Wait before the first probe of a sequential plan, ms (the peer is still
   * opening its sockets: probing their ports before they exist would miss
   * them until the sweep wraps around).
   */
  probeDelay: number;
  /**
   * The same for a random plan, ms: a probe that comes before the peer's
   * sockets costs one port of thousands, so there is little to wait for.
   */
  randomProbeDelay: number;
  /** The transport's own keepalive, ms: a NAT whose mappings outlive it needs nothing more. */
  transportKeepAliveTime: number;
};

const holePuncherConfigDefault: HolePuncherConfig = {
  ...signal.punchStrategyConfigDefault,
  punchDuration: 6_000,
  hardPunchDuration: 12_000,
  unlikelyPunchDuration: 2_000,
  punchInterval: 100,
  socketsPunchInterval: 1_000,
  probeRate: 250,
  probeDelay: 500,
  randomProbeDelay: 50,
  transportKeepAliveTime: 10_000,
};

/** A punch datagram: 12 bytes starting with 0 (never a QUIC or netsim packet), then a tag and 8 random bytes. */
function punchPayload(random: Uint8Array): Uint8Array {
  const p = new Uint8Array(12);
  p.set([0x00, 0x50, 0x4e, 0x01]);
  p.set(random.subarray(0, 8), 4);
  return p;
}

/** What a running punch did, for its audit record. */
type PunchStats = {
  plan: signal.PunchPlan;
  sent: number;
  socketsOpened: number;
  socketsHeard: number;
  socketDials: number;
  probesSent: number;
  socketError?: string;
};

/**
 * Hole punching toward a peer whose candidates and NAT hints came through
 * signalling. Both sides punch from their connection socket toward every
 * candidate and dial them; the first connection either way wins. When one
 * NAT is endpoint-dependent (symmetric) it is a birthday punch: that side
 * opens extra sockets punching toward the other, which probes ports of its
 * public address from its connection socket; the first extra socket that
 * hears a probe has a mapping the other's filter now lets through, and is
 * dialled from (see `signal.planPunch`).
 */
class HolePuncher {
  public readonly config: HolePuncherConfig;
  protected clock: Clock;
  protected manager: NodeConnectionManager;
  protected ourNat: () => signal.NATHints;
  /** Our NAT's measured idle mapping lifetime (IPv4), with the keepalive it recommends. */
  protected mappingLifetime: () => { aliveAt: number; recommendedKeepAliveMs: number } | undefined;
  protected randomBytes: (n: number) => Uint8Array;
  protected audit: (r: Omit<AuditRecord, 'time'>) => void;
  protected running = new Map<string, Promise<NodeConnection>>();
  /** Live connections that punching made (by connection id). */
  protected punched = new Set<string>();

  public constructor(opts: {
    clock: Clock;
    manager: NodeConnectionManager;
    ourNat: HolePuncher['ourNat'];
    mappingLifetime?: HolePuncher['mappingLifetime'];
    randomBytes: HolePuncher['randomBytes'];
    audit: HolePuncher['audit'];
    config?: Partial<HolePuncherConfig>;
  }) {
    this.clock = opts.clock;
    this.manager = opts.manager;
    this.ourNat = opts.ourNat;
    this.mappingLifetime = opts.mappingLifetime ?? (() => undefined);
    this.randomBytes = opts.randomBytes;
    this.audit = opts.audit;
    this.config = { ...holePuncherConfigDefault, ...opts.config };
  }

  public isPunched(connectionId: string): boolean {
    return this.punched.has(connectionId);
  }

  /**
   * The keepalive a punched connection needs beyond the transport's own:
   * our NAT's recommended interval (from its measured mapping lifetime)
   * when that is shorter than the transport's keepalive; none otherwise.
   */
  public keepAliveTime(): number | undefined {
    const l = this.mappingLifetime();
    if (l == null || l.recommendedKeepAliveMs >= this.config.transportKeepAliveTime)
      return undefined;
    return Math.max(500, l.recommendedKeepAliveMs);
  }

  /** The plan toward a peer with NAT hints `theirs` (IPv4 is where NATs are). */
  public plan(theirs: signal.NATHints): signal.PunchPlan {
    return signal.planPunch(this.ourNat().ipv4, theirs.ipv4, this.config);
  }

  /** How long a punch toward `theirs` may take by default, ms. */
  public duration(theirs: signal.NATHints): number {
    const kind = this.plan(theirs).kind;
    if (kind === 'both-dependent') return this.config.unlikelyPunchDuration;
    return kind === 'open-sockets' || kind === 'probe-ports'
      ? this.config.hardPunchDuration
      : this.config.punchDuration;
  }

  /** The live connection to `nodeId` unless it runs through a relay (a punch is to replace that). */
  protected unrelayed(nodeId: NodeId): NodeConnection | undefined {
    const nc = this.manager.getConnection(nodeId);
    return nc != null && !isRelayed(nc.connection) ? nc : undefined;
  }

  /**
   * Punches toward `nodeId` and resolves with the first connection to it
   * either way; one punch per peer at a time (a second call joins it).
   * `existing`: the id of a connection to it that was up before the signal
   * (a direct dial that beat it): the punch resolves with it at once and
   * does not call it punched.
   */
  public punch(
    nodeId: NodeId,
    candidates: ReadonlyArray<signal.Candidate>,
    theirNat: signal.NATHints,
    ctx: Partial<ContextTimedInput> = {},
    existing?: string,
  ): Promise<NodeConnection> {
    const key = identity.encodeNodeId(nodeId);
    const running = this.running.get(key);
    if (running != null) return running;
    const p = this.punchOnce(nodeId, candidates, theirNat, ctx, existing).finally(() =>
      this.running.delete(key),
    );
    this.running.set(key, p);
    return p;
  }

  protected punchOnce(
    nodeId: NodeId,
    candidates: ReadonlyArray<signal.Candidate>,
    theirNat: signal.NATHints,
    ctx: Partial<ContextTimedInput>,
    existing: string | undefined,
  ): Promise<NodeConnection> {
    const transport = this.manager.transport;
    const families = new Set(transport.localAddresses.map((a) => a.family));
    const targets: Array<Address> = [];
    for (const c of candidates) {
      const a = addressUtils.tryParseAddress(addressUtils.formatAddress(c));
      if (a == null || !families.has(a.family) || a.port === 0) continue;
      if (!targets.some((b) => addressUtils.addressEquals(a, b))) targets.push(a);
    }
    const plan = this.plan(theirNat);
    const timeout = typeof ctx.timer === 'number' ? ctx.timer : this.duration(theirNat);
    const text = identity.encodeNodeId(nodeId);
    const t0 = this.clock.now();
    const targetsText = targets.map(addressUtils.formatAddress).join(' ');
    const stats: PunchStats = {
      plan,
      sent: 0,
      socketsOpened: 0,
      socketsHeard: 0,
      socketDials: 0,
      probesSent: 0,
    };
    return new Promise<NodeConnection>((resolve, reject) => {
      if (targets.length === 0) {
        reject(new baseErrors.ErrorConnectionDial(`${text} gave no candidate of a family we have`));
        return;
      }
      let done = false;
      const abort = new AbortController();
      const payload = punchPayload(this.randomBytes(8));
      const stops: Array<() => void> = [];
      let tick: TimerHandle | undefined;
      const sendAll = () => {
        if (done) return;
        for (const a of targets) {
          stats.sent++;
          void transport.sendPunch?.(a, payload).catch(() => {});
        }
        if (this.unrelayed(nodeId) != null) return finish();
        tick = this.clock.setTimer(this.config.punchInterval, sendAll);
      };
      const deadline = this.clock.setTimer(timeout, () =>
        finish(
          new baseErrors.ErrorTimeout(
            `No path to ${text} opened after ${timeout} ms of punching (${describePlan(plan)}) toward ${targetsText}`,
          ),
        ),
      );
      const unsubscribe = transport.onConnection((c) => {
        if (identity.nodeIdEquals(c.remoteNodeId, nodeId)) {
          // Adopted by the manager in the same turn.
          this.clock.setTimer(0, () => finish());
        }
      });
      const onAbort = () =>
        finish(new baseErrors.ErrorCancelled(`Punching toward ${text} was cancelled`));
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (error?: Error) => {
        if (done) return;
        const nc = this.unrelayed(nodeId);
        if (error == null && nc == null) return;
        done = true;
        tick?.cancel();
        deadline.cancel();
        unsubscribe();
        for (const stop of stops) stop();
        ctx.signal?.removeEventListener('abort', onAbort);
        abort.abort();
        const durationMs = this.clock.now() - t0;
        const what = describeStats(stats, targetsText);
        if (nc != null && nc.connection.id === existing) {
          this.audit({
            kind: 'punch',
            nodeId: text,
            outcome: 'cancelled',
            address: addressUtils.formatAddress(nc.connection.remoteAddress),
            connectionId: nc.connection.id,
            durationMs,
            detail: `not needed: connection ${nc.connection.id} (${nc.connection.initiator === 'local' ? 'our' : 'their'} dial) was already up`,
          });
          resolve(nc);
        } else if (nc != null) {
          const how = this.punched.has(nc.connection.id)
            ? 'our dial from an extra socket'
            : nc.connection.initiator === 'local'
              ? 'our dial'
              : 'their dial';
          const every = this.keepAliveTime();
          const keep =
            every != null
              ? `; keepalive every ${every} ms (our NAT's mappings live ${this.mappingLifetime()!.aliveAt} ms idle)`
              : '';
          this.audit({
            kind: 'punch',
            nodeId: text,
            outcome: 'ok',
            path: 'punched',
            address: addressUtils.formatAddress(nc.connection.remoteAddress),
            connectionId: nc.connection.id,
            durationMs,
            detail: `${how} got through; ${what}${keep}`,
          });
          const id = nc.connection.id;
          this.punched.add(id);
          nc.connection.onClose(() => this.punched.delete(id));
          this.keepAlive(nodeId, nc);
          resolve(nc);
        } else {
          this.audit({
            kind: 'punch',
            nodeId: text,
            outcome: error instanceof baseErrors.ErrorCancelled ? 'cancelled' : 'failed',
            path: 'punched',
            durationMs,
            error: { name: error!.name, message: error!.message },
            detail: what,
          });
          reject(error);
        }
      };
      const ipv4 = targets.filter((a) => a.family === 'ipv4');
      if (plan.kind === 'open-sockets' && ipv4.length > 0) {
        stops.push(
          this.runExtraSockets(nodeId, ipv4, plan.sockets, payload, stats, {
            deadline: t0 + timeout,
            signal: abort.signal,
            onConnection: (c) => {
              // Mark first: `finish` describes how the connection was made.
              const nc = this.manager.adoptDialled(c, 'punched');
              this.punched.add(nc.connection.id);
              finish();
            },
          }),
        );
      } else if (plan.kind === 'probe-ports') {
        const public4 = candidates.filter((c) => c.family === 'ipv4' && c.kind !== 'local');
        stops.push(this.runProbes(public4, plan, payload, stats));
      }
      sendAll();
      this.manager
        .connect(nodeId, targets, { timer: timeout, signal: abort.signal }, { overRelayed: true })
        .then(() => finish())
        .catch(() => {
          // Their dial may still get through; the deadline decides.
        });
    });
  }

  /**
   * Pings a punched connection every `keepAliveTime()` while it lives, so
   * that a NAT with mappings shorter-lived than the transport's keepalive
   * keeps its path open. The pings count as use: a punched connection (slow
   * to make again) is closed by either side, not by idleness.
   */
  protected keepAlive(nodeId: NodeId, nc: NodeConnection): void {
    const every = this.keepAliveTime();
    if (every == null) return;
    let timer: TimerHandle | undefined;
    const tick = () => {
      if (nc.connection.closed) return;
      void this.manager.ping(nodeId, { timer: every }).catch(() => {});
      timer = this.clock.setTimer(every, tick);
    };
    timer = this.clock.setTimer(every, tick);
    nc.connection.onClose(() => timer?.cancel());
  }

  /**
   * Our side of a birthday punch: `count` extra sockets punch toward
   * `targets` every `socketsPunchInterval`; the first to hear one of them
   * (a probe came through) is dialled from, then the next, until one
   * connects or the deadline. Returns the stop function.
   */
  protected runExtraSockets(
    nodeId: NodeId,
    targets: ReadonlyArray<Address>,
    count: number,
    payload: Uint8Array,
    stats: PunchStats,
    opts: { deadline: number; signal: AbortSignal; onConnection: (c: Connection) => void },
  ): () => void {
    const transport = this.manager.transport;
    let stopped = false;
    let tick: TimerHandle | undefined;
    let sockets: Awaited<ReturnType<NonNullable<typeof transport.openPunchSockets>>> | undefined;
    const heard = new Set<number>();
    const queue: Array<{ index: number; from: Address }> = [];
    let dialling = false;
    const pump = () => {
      if (stopped || dialling || sockets == null) return;
      const next = queue.shift();
      if (next == null) return;
      dialling = true;
      stats.socketDials++;
      sockets
        .dial(next.index, nodeId, next.from, {
          timer: Math.max(1, opts.deadline - this.clock.now()),
          signal: opts.signal,
        })
        .then(
          (c) => (stopped ? void c.close() : opts.onConnection(c)),
          (e: Error) => {
            stats.socketError = `${e.name}: ${e.message}`;
          },
        )
        .finally(() => {
          dialling = false;
          pump();
        });
    };
    const round = () => {
      if (stopped || sockets == null) return;
      for (const t of targets) void sockets.sendAll(t, payload);
      tick = this.clock.setTimer(this.config.socketsPunchInterval, round);
    };
    if (transport.openPunchSockets == null) {
      stats.socketError = 'the transport cannot open punch sockets';
      return () => {};
    }
    transport.openPunchSockets('ipv4', count).then(
      (s) => {
        if (stopped) return void s.close();
        sockets = s;
        stats.socketsOpened = s.count;
        s.onReceive((index, from) => {
          if (heard.has(index) || !targets.some((t) => t.host === from.host)) return;
          heard.add(index);
          stats.socketsHeard++;
          queue.push({ index, from });
          pump();
        });
        round();
      },
      (e: Error) => {
        stats.socketError = `${e.name}: ${e.message}`;
      },
    );
    return () => {
      stopped = true;
      tick?.cancel();
      void sockets?.close();
    };
  }

  /**
   * The other side of a birthday punch: probes ports of the peer's public
   * IPv4 addresses from our connection socket, `probeRate` per second after
   * `probeDelay` (`randomProbeDelay`), in the plan's order (sequential plans
   * wrap around and repeat). Returns the stop function.
   */
  protected runProbes(
    theirs: ReadonlyArray<signal.Candidate>,
    plan: Extract<signal.PunchPlan, { kind: 'probe-ports' }>,
    payload: Uint8Array,
    stats: PunchStats,
  ): () => void {
    const transport = this.manager.transport;
    const hosts = [...new Set(theirs.map((c) => c.host))];
    if (hosts.length === 0 || transport.sendPunch == null) return () => {};
    const base = Math.max(...theirs.map((c) => c.port));
    const ports = signal.probePorts({
      order: plan.order,
      count: plan.probes,
      base,
      random: this.randomBytes,
    });
    const batchInterval = 20;
    const perBatch = Math.max(1, Math.round((this.config.probeRate * batchInterval) / 1000));
    let next = 0;
    let stopped = false;
    let tick: TimerHandle | undefined;
    const batch = () => {
      if (stopped) return;
      for (let i = 0; i < perBatch; i++) {
        if (next >= ports.length) {
          if (plan.order === 'random') return;
          next = 0;
        }
        const port = ports[next++];
        for (const host of hosts) {
          stats.probesSent++;
          const family = host.includes(':') ? 'ipv6' : 'ipv4';
          void transport.sendPunch!({ host, port, family } as Address, payload).catch(() => {});
        }
      }
      tick = this.clock.setTimer(batchInterval, batch);
    };
    tick = this.clock.setTimer(
      plan.order === 'random' ? this.config.randomProbeDelay : this.config.probeDelay,
      batch,
    );
    return () => {
      stopped = true;
      tick?.cancel();
    };
  }
}

function describePlan(plan: signal.PunchPlan): string {
  switch (plan.kind) {
    case 'simple':
      return 'both NATs endpoint-independent';
    case 'open-sockets':
      return `our NAT is endpoint-dependent (${plan.allocation} ports): ${plan.sockets} extra sockets`;
    case 'probe-ports':
      return `their NAT is endpoint-dependent: probing ${plan.probes} of its ports (${plan.order})`;
    case 'both-dependent':
      return 'both NATs endpoint-dependent: a punch is unlikely, a relay is needed';
  }
}

function describeStats(s: PunchStats, targets: string): string {
  const parts = [`${describePlan(s.plan)}; ${s.sent} punch datagrams to ${targets}`];
  if (s.plan.kind === 'open-sockets') {
    parts.push(
      `${s.socketsOpened} extra sockets opened, ${s.socketsHeard} heard the peer, ${s.socketDials} dialled from`,
    );
    if (s.socketError != null) parts.push(`last extra-socket error: ${s.socketError}`);
  }
  if (s.plan.kind === 'probe-ports') parts.push(`${s.probesSent} ports probed`);
  return parts.join('; ');
}

export default HolePuncher;
export { holePuncherConfigDefault, punchPayload };
export type { HolePuncherConfig };
