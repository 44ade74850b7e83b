import type { AddressFamily, Clock, NodeId } from '@node-network/network-interface';
import type { KeyPair, MembershipClaim, NetworkId } from '@node-network/network-identity';
import type { AuditRecord, NodeConnection, ServerManifest } from '@node-network/transport';
import type { NodeConnectionManager } from '@node-network/transport';
import type { BindPort, RelayConfig, TunnelIdentity } from '@node-network/relay';
import type { signal } from '@node-network/signalling';
import type NodeSignalling from './NodeSignalling.js';
import type { Connection } from '@node-network/network-interface';
import type { RelayCandidate } from './relaySelection.js';
import { distance } from './NodeSignalling.js';
import { chooseRelays } from './relaySelection.js';
import Logger from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { addresses as addressUtils, isRelayed, isWebSocket } from '@node-network/transport';
import { RelayService, tunnelIdentityOf } from '@node-network/relay';

type NodeRelayConfig = Partial<RelayConfig> & {
  /** Relays tried per relayed connect (the target's named relays first, then our peers closest to it). */
  attempts: number;
  /** Limit of one attempt (connecting to the relay, the circuit, the end-to-end handshake), ms. */
  attemptTimeoutTime: number;
  /** Limit of the datagram circuit within an attempt, ms; past it the stream circuit is tried. */
  datagramAttemptTimeoutTime: number;
  /** Relays we name in our signal answers (our longest-held direct outbound connections). */
  advertise: number;
  /** While a connection is relayed, try signalling and punching for a direct path this often, ms (0: never). */
  upgradeInterval: number;
  /** Upgrade attempts per relayed connection. */
  upgradeAttempts: number;
  /** Ping the relays we could name this often (latency for the choice; keeps them held), ms (0: never). */
  refreshInterval: number;
  /** Limit of one such ping, ms. */
  pingTimeoutTime: number;
};

const nodeRelayConfigDefault: NodeRelayConfig = {
  attempts: 6,
  attemptTimeoutTime: 8_000,
  datagramAttemptTimeoutTime: 4_000,
  advertise: 4,
  upgradeInterval: 30_000,
  upgradeAttempts: 4,
  refreshInterval: 60_000,
  pingTimeoutTime: 5_000,
};

/**
 * The facade's relaying: serves relay circuits for others (quotas in
 * `RelayService`), names the relays we keep in our signal answers, and
 * connects through a relay when neither a direct dial nor punching worked.
 * A relayed connection keeps trying to upgrade: while it lives, signalling
 * and punching run again every `upgradeInterval`; a punched connection
 * replaces it for new streams and the relayed one closes once idle.
 */
class NodeRelay {
  public readonly config: NodeRelayConfig;
  public readonly service: RelayService;
  /** The end-to-end tunnel's identity, made at `start` (it needs the transport's certificate). */
  protected tunnelIdentity?: TunnelIdentity;
  /** The tunnel identity to hand out before `start`: it reads the one `start` makes (and refuses until then). */
  public readonly identity: TunnelIdentity;
  protected keyPair: KeyPair;
  protected network: NetworkId;
  protected membershipClaim?: MembershipClaim;
  protected certificateChain?: () => ReadonlyArray<Uint8Array> | undefined;
  protected clock: Clock;
  protected manager: NodeConnectionManager;
  protected signalling?: NodeSignalling;
  protected audit: (r: Omit<AuditRecord, 'time'>) => void;
  /** Nodes we know an address of (the seeds): relays to dial when none we hold reaches the target. */
  protected known: () => Array<signal.RelayHint>;
  /** Connects again by every path (the facade's `connect`), when a relay we used broke. */
  protected reconnect: (target: NodeId) => Promise<unknown>;
  protected logger: Logger;
  protected upgrades = new Map<string, { cancel(): void }>();
  protected stopped = false;
  /** Smoothed ping round trips of the peers we could name as relays, ms. */
  protected rtts = new Map<string, number>();
  protected refreshTimer?: { cancel(): void };
  /** Aborts a refresh's pings at `stop` (a stopping node waits for no ping). */
  protected refreshAbort = new AbortController();

  public constructor({
    keyPair,
    network,
    membershipClaim,
    certificateChain,
    clock,
    manager,
    signalling,
    audit,
    reconnect = async () => {},
    known = () => [],
    bindPort,
    portsUnreachable,
    randomBytes,
    config = {},
    logger,
  }: {
    keyPair: KeyPair;
    network: NetworkId;
    membershipClaim?: MembershipClaim;
    certificateChain?: () => ReadonlyArray<Uint8Array> | undefined;
    clock: Clock;
    manager: NodeConnectionManager;
    signalling?: NodeSignalling;
    audit: (r: Omit<AuditRecord, 'time'>) => void;
    reconnect?: (target: NodeId) => Promise<unknown>;
    known?: () => Array<signal.RelayHint>;
    /** Binds the UDP ports of the datagram circuits we relay (without it: stream circuits only). */
    bindPort?: BindPort;
    /** Why ports we bind in a family are unreachable from outside (our NAT), if they are. */
    portsUnreachable?: (family: AddressFamily) => string | undefined;
    randomBytes?: (n: number) => Uint8Array;
    config?: Partial<NodeRelayConfig>;
    logger?: Logger;
  }) {
    this.keyPair = keyPair;
    this.network = network;
    this.membershipClaim = membershipClaim;
    this.certificateChain = certificateChain;
    this.clock = clock;
    this.manager = manager;
    this.signalling = signalling;
    this.audit = audit;
    this.reconnect = reconnect;
    this.known = known;
    this.config = { ...nodeRelayConfigDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
    const tunnel = (): TunnelIdentity => {
      if (this.tunnelIdentity == null) {
        throw new baseErrors.ErrorConnectionClosed('Relaying is not started');
      }
      return this.tunnelIdentity;
    };
    this.identity = {
      get keyPem() {
        return tunnel().keyPem;
      },
      get certPem() {
        return tunnel().certPem;
      },
      verify: (chain, expected) => tunnel().verify(chain, expected),
    };
    this.service = new RelayService({
      manager,
      clock,
      tunnelIdentity: this.identity,
      config: this.config,
      audit,
      onInbound: (c) => this.manager.adoptDialled(c, 'relayed', 'inbound'),
      bindPort,
      portsUnreachable,
      randomBytes,
      logger: this.logger.getChild('RelayService'),
    });
    // QUIC connections that came through a datagram circuit we bound for are relayed ones.
    manager.inboundAdapter = (c) => this.service.datagram.matchInbound(c);
  }

  /** Makes the tunnel's identity (after the transport started: its certificate is the tunnel's). */
  public async start(): Promise<void> {
    this.stopped = false;
    this.refreshAbort = new AbortController();
    this.scheduleRefresh();
    let chain = this.certificateChain?.();
    if (chain == null || chain.length === 0) {
      // A transport without certificates (netsim's): the tunnel gets its own, same identity.
      chain = [
        await identity.createCertificate({
          subjectKeyPair: this.keyPair,
          network: this.network,
          membershipClaim: this.membershipClaim,
          now: new Date(this.clock.wallTime()),
          durationSeconds: 365 * 24 * 3600,
        }),
      ];
    }
    this.tunnelIdentity = tunnelIdentityOf({
      privateKey: this.keyPair.privateKey,
      certificateChain: chain,
      network: this.network,
      now: () => new Date(this.clock.wallTime()),
    });
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    this.refreshTimer?.cancel();
    this.refreshAbort.abort(new baseErrors.ErrorCancelled('Relaying stopped'));
    for (const u of this.upgrades.values()) u.cancel();
    this.upgrades.clear();
    await this.service.stop();
  }

  /** The RPC methods of relaying (`relayConnect`, `relayAccept`). */
  public handlers(): ServerManifest {
    return this.service.handlers();
  }

  /**
   * The peers we could name as relays: ones we dialled directly and still
   * hold (others can likely dial them too), with their measured latency.
   */
  protected relayCandidates(): Array<{ connection: Connection; candidate: RelayCandidate }> {
    return this.manager
      .listConnections()
      .map((nc) => nc.connection)
      .filter(
        (c) =>
          c.initiator === 'local' && !isRelayed(c) && !(this.signalling?.isPunched(c.id) ?? false),
      )
      .map((c, i) => {
        const nodeId = identity.encodeNodeId(c.remoteNodeId);
        return {
          connection: c,
          candidate: { nodeId, address: c.remoteAddress, rttMs: this.rtts.get(nodeId), since: i },
        };
      });
  }

  /**
   * The relays we name in signal answers: `advertise` of our relay
   * candidates, chosen by latency and diversity (`chooseRelays`).
   */
  public ourRelays(): Array<signal.RelayHint> {
    const all = this.relayCandidates();
    const chosen = chooseRelays(
      all.map((x) => x.candidate),
      this.config.advertise,
    );
    return chosen
      .map((ch) => all.find((x) => x.candidate === ch)!.connection)
      .map((c) => ({
        nodeId: c.remoteNodeId,
        // Over WebSocket we see a proxy's address, not the relay's UDP one: name the relay only.
        candidates: isWebSocket(c)
          ? []
          : [
              {
                host: c.remoteAddress.host,
                port: c.remoteAddress.port,
                family: c.remoteAddress.family === 'ipv6' ? 'ipv6' : 'ipv4',
                kind: 'observed' as const,
              },
            ],
      }));
  }

  /**
   * Measures the latency of every relay candidate (one `ping` each) and
   * keeps the ones we name from closing idle. Runs every `refreshInterval`
   * once started; the facade also runs it after `bootstrap`.
   */
  public async refresh(): Promise<Array<{ nodeId: string; address: string; rttMs?: number }>> {
    const all = this.relayCandidates();
    await Promise.all(
      all.map(async ({ connection, candidate }) => {
        try {
          const rtt = await this.manager.ping(connection.remoteNodeId, {
            timer: this.config.pingTimeoutTime,
            signal: this.refreshAbort.signal,
          });
          const old = this.rtts.get(candidate.nodeId);
          this.rtts.set(candidate.nodeId, old == null ? rtt : 0.75 * old + 0.25 * rtt);
        } catch {
          this.rtts.delete(candidate.nodeId);
        }
      }),
    );
    const held = new Set(this.relayCandidates().map((x) => x.candidate.nodeId));
    for (const k of [...this.rtts.keys()]) if (!held.has(k)) this.rtts.delete(k);
    const named = this.named();
    for (const h of this.ourRelays()) this.manager.touch(h.nodeId);
    return named;
  }

  /** The relays we name now, fastest first, with their measured round trip. */
  public named(): Array<{ nodeId: string; address: string; rttMs?: number }> {
    return this.ourRelays().map((h) => {
      const k = identity.encodeNodeId(h.nodeId);
      const c = this.manager.getConnection(h.nodeId)!.connection;
      return {
        nodeId: k,
        address: addressUtils.formatAddress(c.remoteAddress),
        rttMs: this.rtts.get(k),
      };
    });
  }

  protected scheduleRefresh(): void {
    if (this.stopped || this.config.refreshInterval <= 0) return;
    // Spread over 0.75-1.25 of the interval by our NodeId: nodes started together do not ping in step.
    const phase = 0.75 + (this.keyPair.publicKey[0] / 255) * 0.5;
    this.refreshTimer = this.clock.setTimer(this.config.refreshInterval * phase, () => {
      void this.refresh()
        .catch((e) => this.logger.warn(`Relay refresh failed: ${(e as Error).message}`))
        .finally(() => this.scheduleRefresh());
    });
  }

  /**
   * Connects to `target` through a relay: the relays it named in its last
   * signal answer, then our connected peers closest to it, up to `attempts`.
   * Rejects with the last relay's typed error when none worked.
   */
  public async connect(
    target: NodeId,
    ctx: { timer?: number; signal?: AbortSignal } = {},
  ): Promise<NodeConnection> {
    const targetText = identity.encodeNodeId(target);
    const named = this.signalling?.relaysOf(target) ?? [];
    const peers = this.manager
      .listConnections()
      .map((nc) => nc.connection)
      .filter((c) => !isRelayed(c) && !identity.nodeIdEquals(c.remoteNodeId, target))
      .sort((a, b) =>
        distance(a.remoteNodeId, target) < distance(b.remoteNodeId, target) ? -1 : 1,
      )
      .map((c) => ({ nodeId: c.remoteNodeId, candidates: [] as Array<signal.Candidate> }));
    // Cheapest first: named relays we already hold a connection to, then the other named ones,
    // then our own peers closest to the target (a relay refuses at once if it cannot reach it).
    const held = (h: signal.RelayHint) => this.manager.getConnection(h.nodeId) != null;
    const order = mergeHints(
      [
        ...named.filter(held),
        ...peers,
        ...named.filter((h) => !held(h)),
        ...this.known().filter((h) => !held(h)),
      ],
      [identity.encodeNodeId(this.keyPair.publicKey as NodeId), targetText],
    );
    const t0 = this.clock.now();
    const failures: Array<string> = [];
    let last: Error | undefined;
    // Relays we hold a connection to cost one refusal round trip each: all of them are tried;
    // `attempts` bounds the ones we would have to dial.
    let dialled = 0;
    for (const hint of order) {
      if (!held(hint) && ++dialled > this.config.attempts) break;
      const left = ctx.timer != null ? ctx.timer - (this.clock.now() - t0) : undefined;
      if ((left != null && left <= 0) || ctx.signal?.aborted) break;
      const timer = Math.min(left ?? Infinity, this.config.attemptTimeoutTime);
      const relayText = identity.encodeNodeId(hint.nodeId);
      const tStart = this.clock.now();
      try {
        const relayNc =
          this.manager.getConnection(hint.nodeId) ??
          (await this.manager.connect(
            hint.nodeId,
            hint.candidates.flatMap(
              (c) => addressUtils.tryParseAddress(addressUtils.formatAddress(c)) ?? [],
            ),
            { timer, signal: ctx.signal },
          ));
        const relayed = await this.circuit(relayNc, target, relayText, {
          timer: Math.max(1, timer - (this.clock.now() - tStart)),
          signal: ctx.signal,
        });
        const nc = this.manager.adoptDialled(relayed, 'relayed');
        this.scheduleUpgrade(target, relayed);
        this.watchCircuit(target, relayed);
        return nc;
      } catch (e) {
        last = e as Error;
        failures.push(`${relayText}: ${(e as Error).message}`);
      }
    }
    if (last == null) {
      throw new baseErrors.ErrorConnectionDial(
        `No relay to try for ${targetText}: it named none and we hold no other connection`,
      );
    }
    throw new baseErrors.ErrorConnectionDial(
      `No relay took us to ${targetText}: ${failures.join('; ')}`,
      { cause: last, data: { relays: failures } },
    );
  }

  /**
   * One circuit through `relayNc` to `target`: a datagram circuit first (one
   * QUIC connection end to end, the relay forwards packets: the bulk path),
   * else, saying why in the audit, the stream circuit (TLS over the relay's
   * RPC streams: works wherever the relay is reachable at all, also over
   * WebSocket and from behind the relay's NAT).
   */
  protected async circuit(
    relayNc: NodeConnection,
    target: NodeId,
    relayText: string,
    ctx: { timer: number; signal?: AbortSignal },
  ): Promise<Connection & { relay: NodeId }> {
    const t0 = this.clock.now();
    if (this.config.datagram !== false && !isWebSocket(relayNc.connection)) {
      try {
        return await this.service.dialDatagram(relayNc, target, {
          timer: Math.min(ctx.timer, this.config.datagramAttemptTimeoutTime),
          signal: ctx.signal,
        });
      } catch (e) {
        if (ctx.signal?.aborted) throw e;
        this.audit({
          kind: 'relay',
          nodeId: identity.encodeNodeId(target),
          outcome: e instanceof baseErrors.ErrorTimeout ? 'timeout' : 'failed',
          error: { name: (e as Error).name, message: (e as Error).message },
          detail: `no datagram circuit through ${relayText}; trying its stream circuit`,
        });
      }
    }
    return this.service.dial(relayNc, target, {
      timer: Math.max(1, ctx.timer - (this.clock.now() - t0)),
      signal: ctx.signal,
    });
  }

  /**
   * When the relay under a connection we made breaks (it died, or went
   * silent past the tunnel's idle timeout), connect again by every path:
   * direct, punched, or another relay. Not after a graceful close or an upgrade.
   */
  protected watchCircuit(target: NodeId, relayed: Connection & { relay: NodeId }): void {
    relayed.onClose((reason) => {
      if (this.stopped || reason == null || !(reason instanceof baseErrors.ErrorConnectionClosed)) {
        return;
      }
      if (this.manager.getConnection(target) != null) return; // replaced already
      const k = identity.encodeNodeId(target);
      const relayText = identity.encodeNodeId(relayed.relay);
      void this.reconnect(target).then(
        (r) =>
          this.audit({
            kind: 'relay',
            nodeId: k,
            outcome: 'ok',
            detail: `relay ${relayText} broke (${reason.message}); reconnected to ${k} (${(r as { path?: string }).path ?? 'ok'})`,
          }),
        (e: Error) =>
          this.audit({
            kind: 'relay',
            nodeId: k,
            outcome: 'failed',
            error: { name: e.name, message: e.message },
            detail: `relay ${relayText} broke (${reason.message}); reconnecting to ${k} failed`,
          }),
      );
    });
  }

  /** While `relayed` lives, try for a punched path now and then (it replaces the relayed one). */
  protected scheduleUpgrade(
    target: NodeId,
    relayed: Connection & { relay: NodeId },
    attempt = 1,
  ): void {
    const k = identity.encodeNodeId(target);
    if (
      this.stopped ||
      this.signalling == null ||
      this.config.upgradeInterval <= 0 ||
      attempt > this.config.upgradeAttempts
    ) {
      return;
    }
    this.upgrades.get(k)?.cancel();
    const timer = this.clock.setTimer(this.config.upgradeInterval * attempt, () => {
      this.upgrades.delete(k);
      if (relayed.closed || this.stopped) return;
      const current = this.manager.getConnection(target);
      if (current != null && !isRelayed(current.connection)) return;
      void this.signalling!.connect(target, {}).then(
        () => {
          this.audit({
            kind: 'relay',
            nodeId: k,
            outcome: 'ok',
            detail: `upgraded ${k} from relayed to punched (attempt ${attempt}); the relayed connection closes once idle`,
          });
        },
        (e: Error) => {
          this.audit({
            kind: 'relay',
            nodeId: k,
            outcome: 'failed',
            error: { name: e.name, message: e.message },
            detail: `upgrade attempt ${attempt} for relayed ${k} failed; staying relayed`,
          });
          this.scheduleUpgrade(target, relayed, attempt + 1);
        },
      );
    });
    this.upgrades.set(k, timer);
    relayed.onClose(() => {
      if (this.upgrades.get(k) === timer) {
        timer.cancel();
        this.upgrades.delete(k);
      }
    });
  }
}

/**
 * One hint per node, in first-seen order, with the candidates of every
 * mention: a relay the target names over WebSocket comes without addresses,
 * and the seed list may know them. `skip`: encoded NodeIds left out.
 */
function mergeHints(
  hints: ReadonlyArray<signal.RelayHint>,
  skip: ReadonlyArray<string>,
): Array<signal.RelayHint> {
  const byNode = new Map<string, { nodeId: NodeId; candidates: Array<signal.Candidate> }>();
  for (const h of hints) {
    const k = identity.encodeNodeId(h.nodeId);
    if (skip.includes(k)) continue;
    const merged = byNode.get(k);
    if (merged == null) {
      byNode.set(k, { nodeId: h.nodeId, candidates: [...h.candidates] });
      continue;
    }
    for (const c of h.candidates) {
      if (!merged.candidates.some((m) => m.host === c.host && m.port === c.port)) {
        merged.candidates.push(c);
      }
    }
  }
  return [...byNode.values()];
}

export default NodeRelay;
export { nodeRelayConfigDefault, mergeHints };
export type { NodeRelayConfig };
