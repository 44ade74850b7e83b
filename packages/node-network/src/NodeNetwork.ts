import type {
  Address,
  Clock,
  Connection,
  ConnectionTransport,
  NodeId,
  TimerHandle,
} from '@node-network/network-interface';
import type { NodeConnection } from '@node-network/transport';
import { errors as baseErrors } from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { KeyPair, MembershipClaim, NetworkId } from '@node-network/network-identity';
import type {
  AuditRecord,
  ListenAddress,
  NodeConnectionManagerConfig,
  TransportConfig,
  WorkerQUICTransportOptions,
} from '@node-network/transport';
import type { ServerManifest } from '@matrixai/rpc';
import type { ConnectResult, NodeNetworkStatus, NodeNetworkFullStatus } from './types.js';
import type { AuditStoreConfig } from './audit/AuditStore.js';
import type { AuditQuery } from './audit/auditQuery.js';
import type { Explanation } from './explain.js';
import type { NetworkSnapshot } from './dashboard/types.js';
import type { LocalHttpServer } from './http/localHttpServer.js';
import type { DB } from '@node-network/nodegraph';
import AuditStore from './audit/AuditStore.js';
import { queryAuditRecords } from './audit/auditQuery.js';
import NodeMetrics from './metrics/NodeMetrics.js';
import { formatExposition } from './metrics/exposition.js';
import { serveMetrics } from './metrics/serveMetrics.js';
import { explainPeer } from './explain.js';
import { natKind } from './describe.js';
import { nodeSnapshot } from './dashboard/nodeSnapshot.js';
import * as identity from '@node-network/network-identity';
import {
  QUICTransport,
  WorkerQUICTransport,
  NodeConnectionManager,
  RealClock,
  UDPDatagramPort,
  transportConfigDefault,
  addresses as addressUtils,
  events as transportEvents,
  isRelayed,
  isWebSocket,
  connectionPath,
  isPolykeyPeer,
} from '@node-network/transport';
import { setMaxListeners } from 'node:events';
import Logger from '@matrixai/logger';
import { StartStop, ready } from '@matrixai/async-init/StartStop.js';
import {
  signal as signalProtocol,
  NATBehaviourDetector,
  filteringFrom,
  probeFiltering,
  probeMappingLifetime,
} from '@node-network/signalling';
import os from 'node:os';
import type { BindDatagramPort, NATProbeInfo, NATProbeServerConfig } from './NATProbeService.js';
import type { NodeGraph } from '@node-network/nodegraph';
import LookupNodeHandler from './handlers/LookupNodeHandler.js';
import ClosestNodesHandler from './handlers/ClosestNodesHandler.js';
import NodeDiscovery from './NodeDiscovery.js';
import NATProbeInfoHandler from './handlers/NATProbeInfoHandler.js';
import NATProbeService from './NATProbeService.js';
import NodeMaintenance from './NodeMaintenance.js';
import NodeSignalling from './NodeSignalling.js';
import type { NodeSignallingConfig } from './NodeSignalling.js';
import SignalHandler from './handlers/SignalHandler.js';
import { parseSeedNodes } from './seeds.js';
import type { SeedNodes } from './seeds.js';
import type { MaintenanceReport, NodeMaintenanceConfig } from './NodeMaintenance.js';
import { events as graphEvents } from '@node-network/nodegraph';
import crypto from 'node:crypto';
import dns from 'node:dns';
import type { Seed } from './seeds.js';
import NodeRelay from './NodeRelay.js';
import NodeHttpRelay from './NodeHttpRelay.js';
import NodeMdns from './NodeMdns.js';
import type { NodeMdnsConfig } from './NodeMdns.js';
import NodePortMapping from './NodePortMapping.js';
import type { PortMapperConfig } from '@node-network/upnp';
import type { NodeHttpRelayConfig } from './NodeHttpRelay.js';
import type { NodeRelayConfig } from './NodeRelay.js';
import * as events from './events.js';
import * as errors from './errors.js';
import * as polykeyMessages from './polykey1/messages.js';
import { connectBySignalInitial } from './polykey1/signalConnect.js';
import {
  NodesClosestActiveConnectionsGetHandler,
  NodesClosestLocalNodesGetHandler,
  NodesConnectionSignalFinalHandler,
  NodesConnectionSignalInitialHandler,
} from './polykey1/handlers.js';

const signalErrors = signalProtocol.errors;

/**
 * The QUIC engine a node gets when `transportEngine` is not given; the
 * transport README's measurements say why.
 */
const transportEngineDefault: 'main' | 'worker' = 'main';

type NodeNetworkOptions = {
  /**
   * Our key pair. With `transport` given, only its NodeId is used (the
   * transport owns the identity it presents).
   */
  keyPair?: KeyPair;
  /** `mainnet`, `testnet`, or `private:<authority NodeId>`. */
  network: NetworkId;
  /** Required for a private network: the authority's signed claim for this node. */
  membershipClaim?: MembershipClaim;
  /** One IP literal per family to bind; default both families on all interfaces. */
  listen?: Array<ListenAddress>;
  /**
   * Nodes to know from the start: `nodeId@host:port` strings
   * (`v0abc…@[2001:db8::7]:1314`), or NodeId text -> addresses.
   */
  seedNodes?: SeedNodes;
  transportConfig?: Partial<TransportConfig>;
  /**
   * Where the QUIC work runs: `main` (this thread) or `worker` (worker
   * threads; the main thread only sees connections and streams, which keeps
   * its event loop free). See the transport README for the measurements
   * behind the default.
   */
  transportEngine?: 'main' | 'worker';
  /** Settings of the worker engine (`transportEngine: 'worker'`). */
  workerTransport?: Partial<WorkerQUICTransportOptions>;
  connectionConfig?: Partial<NodeConnectionManagerConfig>;
  /** RPC methods this node serves beyond the built-in ones. */
  handlers?: ServerManifest;
  /** How many audit records `status()` keeps (the in-memory ring). */
  auditLimit?: number;
  /**
   * Persist the audit log in this @matrixai/db (the NodeGraph's may be
   * shared: the records live under their own `audit` level), with
   * retention (`maxRecords` 10,000, `maxAgeMs` 7 days); `explain` and
   * `queryAudit` then read it. The DB is started and stopped by its owner.
   * Without it, the in-memory ring only.
   */
  audit?: { db: DB } & Partial<AuditStoreConfig>;
  /**
   * Serve Prometheus metrics at `http://host:port/metrics` (off unless
   * given; `host` 127.0.0.1, `port` 9464). A non-loopback host is refused
   * unless `allowRemote`.
   */
  metrics?: { host?: string; port?: number; allowRemote?: boolean };
  /**
   * A transport to use instead of QUIC (netsim's, in the simulator). Its
   * owner starts and stops it; `listen`, `keyPair`, `membershipClaim` and
   * `transportConfig` are then unused.
   */
  transport?: ConnectionTransport;
  /** Time for everything the node does (default: the real clock). */
  clock?: Clock;
  /** Binds datagram ports for NAT probes (default: real UDP; netsim's in the simulator). */
  bindDatagramPort?: BindDatagramPort;
  /** NAT probe servers to run (public nodes help others measure their NATs). */
  natProbeServers?: Array<NATProbeServerConfig>;
  /**
   * The node table (started and stopped by its owner). With it the node
   * answers `closestNodes`, remembers every node it connects to, and finds
   * unknown nodes with Kademlia lookups (`findNode`, and `connect` by NodeId).
   */
  nodeGraph?: NodeGraph;
  /**
   * The NodeGraph's background work (with `nodeGraph`): ping-before-evict,
   * bucket refresh, GC; `false` turns it off (then call `maintain()`).
   */
  maintenance?: Partial<NodeMaintenanceConfig> | false;
  /**
   * Resolves a seed's hostname to IP literals (default: the OS resolver,
   * `dns.lookup` with `all`), limited to 5 s per name.
   */
  resolveHost?: (host: string) => Promise<Array<string>>;
  /** Limit of one lookup query to a peer (connect and answer), ms; default 5 s. */
  lookupTimeoutTime?: number;
  /**
   * How long the one-hop lookup of `connect` (without a NodeGraph) waits for
   * more answers after the first one with addresses, ms (default 50): the
   * slowest of our peers does not hold the connect back.
   */
  lookupGraceTime?: number;
  /**
   * Signalling and hole punching (needs `keyPair`: signals are signed):
   * a node that cannot be dialled directly is signalled through connected
   * peers and punched. `false` turns it off (this node then neither asks
   * for nor forwards signals).
   */
  signalling?: Partial<NodeSignallingConfig> | false;
  /** Limit of the direct dial before signalling takes over, ms (default 3 s). */
  directTimeoutTime?: number;
  /**
   * How long a direct dial runs alone before signalling starts beside it,
   * ms (default 250, happy eyeballs' attempt delay): a dial that can work
   * has usually connected by then, and one to a NAT that filters would
   * otherwise hold the punch back for `directTimeoutTime`. The first path
   * to connect wins; an answer saying their NAT filters cancels a direct
   * dial still pending (punching dials their candidates).
   */
  directHeadStartTime?: number;
  /**
   * Relaying (needs `keyPair`): this node relays for others within quotas,
   * names its relays in signal answers, and connects through a relay when
   * neither a dial nor a punch worked (then keeps trying to upgrade to a
   * punched path). `false` turns it off.
   */
  relay?: Partial<NodeRelayConfig> | false;
  /**
   * HTTP relaying (with `relay`): `listen` serves a WebSocket relay endpoint;
   * `relays` (`nodeId@ws://host:port`) are used when UDP is blocked (no peer
   * answered over UDP after `observeNat` / `bootstrap`), through `proxy` or
   * HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
   */
  httpRelay?: Partial<NodeHttpRelayConfig>;
  /**
   * Local-network discovery by mDNS (real QUIC only; off unless given):
   * advertises this node and dials every peer of our network found on the
   * link, through the OS's avahi-daemon when it runs.
   */
  mdns?: Partial<NodeMdnsConfig> | boolean;
  /**
   * Port mapping on the gateway by PCP, NAT-PMP or UPnP IGD (real QUIC
   * only; off unless given): the mapped address is advertised, renewed,
   * and deleted at stop.
   */
  portMapping?: Partial<PortMapperConfig> | boolean;
  /** Random bytes (refresh targets, nonces); default node:crypto. */
  randomBytes?: (n: number) => Uint8Array;
  logger?: Logger;
};

interface NodeNetwork extends StartStop {}
/**
 * The node-network facade: one object a Polykey-like agent creates from one
 * config. It composes the transport (QUIC with NodeId-bound mutual TLS) and
 * the connection manager, keeps the addresses it knows per node, and keeps
 * the audit trail of every connection attempt for `status()`.
 */
@StartStop({
  eventStart: events.EventNodeNetworkStart,
  eventStarted: events.EventNodeNetworkStarted,
  eventStop: events.EventNodeNetworkStop,
  eventStopped: events.EventNodeNetworkStopped,
})
class NodeNetwork {
  /** Creates and starts a node. */
  public static async createNodeNetwork(options: NodeNetworkOptions): Promise<NodeNetwork> {
    const nn = new this(options);
    await nn.start();
    return nn;
  }

  public readonly nodeId: NodeId;
  public readonly network: NetworkId;
  public readonly transport: ConnectionTransport;
  public readonly connectionManager: NodeConnectionManager;
  /** Set when we made the transport (and so start and stop it). */
  protected quicTransport?: QUICTransport | WorkerQUICTransport;
  protected clock: Clock;
  protected bindDatagramPort: BindDatagramPort;
  protected natProbeService: NATProbeService;
  protected unsubscribeInbound?: () => void;
  /** Set when a NodeGraph was given. */
  public readonly discovery?: NodeDiscovery;
  /** Set when signalling is on (it needs our key pair). */
  public readonly signalling?: NodeSignalling;
  /** Set when relaying is on (it needs our key pair). */
  public readonly relay?: NodeRelay;
  /** Connections made by Polykey 1.x signalling (their path is `punched`). */
  protected polykeyPunched = new Set<string>();
  /** Sources we punch toward after a 1.x signal, until when: their connection is punched. */
  protected polykeyPunching = new Map<string, number>();

  /** An inbound connection from a node we punched toward after a 1.x signal came by that punch. */
  protected markPolykeyPunched(c: Connection): void {
    const k = identity.encodeNodeId(c.remoteNodeId);
    const until = this.polykeyPunching.get(k);
    if (until == null) return;
    // 1.x dials several times at once (its direct and signalled attempts): each came by the punch.
    if (this.clock.now() > until) {
      this.polykeyPunching.delete(k);
      return;
    }
    this.polykeyPunched.add(c.id);
    c.onClose(() => this.polykeyPunched.delete(c.id));
  }
  /** Set with `mdns`. */
  public readonly mdns?: NodeMdns;
  /** Set with `portMapping`. */
  public readonly portMapping?: NodePortMapping;
  /** Set with `relay`: the WebSocket endpoint and the UDP-blocked fallback. */
  public readonly httpRelay?: NodeHttpRelay;
  /** Set when a NodeGraph was given and maintenance is on. */
  protected maintenance?: NodeMaintenance;
  protected randomBytes = (n: number): Uint8Array =>
    this.options.randomBytes?.(n) ?? new Uint8Array(crypto.randomBytes(n));
  protected onGraphDecision = (evt: Event) => {
    const d = (evt as graphEvents.EventNodeGraphDecision).detail;
    this.recordAudit({
      time: this.clock.wallTime(),
      kind: 'nodegraph',
      nodeId: d.nodeId,
      address: d.address,
      detail: `${d.kind}: ${d.reason}`,
    });
  };
  protected logger: Logger;
  protected options: NodeNetworkOptions;
  protected knownNodes = new Map<string, Array<Address>>();
  /** The peers whose last lookup answer for a node had addresses (bounded). */
  protected lookupKnowers = new Map<string, Array<NodeId>>();
  protected seeds: Array<Seed>;
  protected auditLog: Array<AuditRecord> = [];
  /** Set with `audit`: the persisted audit log. */
  public readonly auditStore?: AuditStore;
  /** Counters fed by the audit stream, and the gauges' shape. */
  protected metrics = new NodeMetrics();
  /** Set with `metrics` while running. */
  protected metricsServer?: LocalHttpServer;
  /** When each live connection opened (wall ms), from the audit stream. */
  protected connectionSince = new Map<string, number>();
  /** What this node believes about its NAT, from peers' `observedAddress` answers. */
  public readonly natDetector = new NATBehaviourDetector();
  protected auditLimit: number;
  /** Limit of one lookup query to a peer, ms. */
  protected lookupTimeoutTime: number;

  public constructor(options: NodeNetworkOptions) {
    this.options = options;
    this.logger = options.logger ?? new Logger(this.constructor.name);
    this.network = options.network;
    this.auditLimit = options.auditLimit ?? 500;
    this.lookupTimeoutTime = options.lookupTimeoutTime ?? 5_000;
    this.clock = options.clock ?? new RealClock();
    this.bindDatagramPort =
      options.bindDatagramPort ?? (({ host, port }) => UDPDatagramPort.bind({ host, port }));
    this.natProbeService = new NATProbeService({
      clock: this.clock,
      bind: this.bindDatagramPort,
      serve: options.natProbeServers,
    });
    if (options.transport != null) {
      this.transport = options.transport;
    } else {
      if (options.keyPair == null) {
        throw new errors.ErrorNodeNetworkConfig('A key pair is required (or pass a transport)');
      }
      const engine = options.transportEngine ?? transportEngineDefault;
      if (engine !== 'main' && engine !== 'worker') {
        throw new errors.ErrorNodeNetworkConfig(
          `transportEngine is 'main' or 'worker', not ${String(engine)}`,
        );
      }
      const quicOptions = {
        keyPair: options.keyPair,
        network: options.network,
        membershipClaim: options.membershipClaim,
        config: options.transportConfig,
      };
      this.transport = this.quicTransport =
        engine === 'worker'
          ? new WorkerQUICTransport({
              ...quicOptions,
              ...options.workerTransport,
              logger: this.logger.getChild('WorkerQUICTransport'),
            })
          : new QUICTransport({ ...quicOptions, logger: this.logger.getChild('QUICTransport') });
    }
    this.nodeId = this.transport.nodeId;
    if (options.nodeGraph != null) {
      this.discovery = new NodeDiscovery({
        graph: options.nodeGraph,
        self: this.nodeId,
        clock: this.clock,
        queryTimeoutTime: this.lookupTimeoutTime,
        dial: async (id, addrs, ctx) => {
          const live = this.connectionManager.getConnection(id);
          if (live != null) return live; // remembered when it was made
          const nc = await this.connectionManager.connect(id, addrs, ctx);
          await this.discovery!.remember(id, nc.connection.remoteAddress, 'lookup');
          return nc;
        },
      });
    }
    if (this.discovery != null && options.maintenance !== false) {
      this.maintenance = this.makeMaintenance(this.discovery.graph, options.maintenance);
    }
    this.connectionManager = new NodeConnectionManager({
      transport: this.transport,
      clock: this.clock,
      config: options.connectionConfig,
      logger: this.logger.getChild('NodeConnectionManager'),
    });
    if (options.signalling !== false && options.keyPair != null) {
      this.signalling = new NodeSignalling({
        keyPair: options.keyPair,
        network: options.network,
        clock: this.clock,
        manager: this.connectionManager,
        candidates: () => this.ownCandidates(),
        nat: () => ({
          ipv4: this.natDetector.classification('ipv4'),
          ipv6: this.natDetector.classification('ipv6'),
        }),
        randomBytes: this.randomBytes,
        audit: (r) => this.recordAudit({ time: this.clock.wallTime(), ...r }),
        relays: () => this.relay?.ourRelays() ?? [],
        config: options.signalling,
        logger: this.logger.getChild('NodeSignalling'),
      });
    }
    if (options.relay !== false && options.keyPair != null) {
      this.relay = new NodeRelay({
        keyPair: options.keyPair,
        network: options.network,
        membershipClaim: options.membershipClaim,
        certificateChain: () => this.quicTransport?.certificateChainDER,
        clock: this.clock,
        manager: this.connectionManager,
        signalling: this.signalling,
        audit: (r) => this.recordAudit({ time: this.clock.wallTime(), ...r }),
        reconnect: (id) => this.connect(id),
        known: () =>
          this.seeds.map((seed) => ({
            nodeId: seed.nodeId,
            candidates: (this.knownNodes.get(identity.encodeNodeId(seed.nodeId)) ?? []).map(
              (a) => ({
                host: a.host,
                port: a.port,
                family: a.family === 'ipv6' ? ('ipv6' as const) : ('ipv4' as const),
                kind: 'local' as const,
              }),
            ),
          })),
        // A circuit port forwards a QUIC connection's bursts: the QUIC socket's buffer sizes.
        bindPort:
          options.bindDatagramPort ??
          (({ host, port }) =>
            UDPDatagramPort.bind({
              host,
              port,
              recvBufferSize: transportConfigDefault.socketBufferSize,
              sendBufferSize: transportConfigDefault.socketBufferSize,
            })),
        // Behind NAT, a circuit port we bind has no mapping: nobody outside could reach it.
        portsUnreachable: (family) => {
          const nat = this.natDetector.classification(family);
          return nat.mapping === 'endpoint-independent' || nat.mapping === 'endpoint-dependent'
            ? `it is behind NAT (${natKind(nat)}, ${nat.observers} observers)`
            : undefined;
        },
        randomBytes: this.randomBytes,
        config: options.relay,
        logger: this.logger.getChild('NodeRelay'),
      });
      this.httpRelay = new NodeHttpRelay({
        nodeId: this.nodeId,
        clock: this.clock,
        manager: this.connectionManager,
        tunnelIdentity: this.relay.identity,
        udpWorks: () => this.udpWorks(),
        audit: (r) => this.recordAudit({ time: this.clock.wallTime(), ...r }),
        config: options.httpRelay,
        logger: this.logger.getChild('NodeHttpRelay'),
      });
    }
    if (options.mdns != null && options.mdns !== false && this.quicTransport != null) {
      this.mdns = new NodeMdns({
        nodeId: this.nodeId,
        network: options.network,
        clock: this.clock,
        manager: this.connectionManager,
        discovery: this.discovery,
        audit: (r) => this.recordAudit({ time: this.clock.wallTime(), ...r }),
        config: options.mdns === true ? {} : options.mdns,
        logger: this.logger.getChild('NodeMdns'),
      });
    }
    if (
      options.portMapping != null &&
      options.portMapping !== false &&
      this.quicTransport != null
    ) {
      this.portMapping = new NodePortMapping({
        clock: this.clock,
        audit: (r) => this.recordAudit({ time: this.clock.wallTime(), ...r }),
        config: options.portMapping === true ? {} : options.portMapping,
        logger: this.logger.getChild('NodePortMapping'),
      });
    }
    this.seeds = parseSeedNodes(options.seedNodes ?? []);
    for (const seed of this.seeds) this.addAddresses(seed.nodeId, seed.addresses);
    if (options.audit != null) {
      const { db, ...config } = options.audit;
      this.auditStore = new AuditStore({
        db,
        clock: this.clock,
        config,
        logger: this.logger.getChild('AuditStore'),
      });
    }
  }

  public async start(): Promise<void> {
    await this.auditStore?.start();
    try {
      await this.startParts();
    } catch (e) {
      await this.auditStore?.stop();
      throw e;
    }
    if (this.options.metrics != null) {
      const { host = '127.0.0.1', port = 9464, allowRemote } = this.options.metrics;
      try {
        this.metricsServer = await serveMetrics({
          host,
          port,
          allowRemote,
          render: () => this.metricsText(),
          logger: this.logger.getChild('metrics'),
        });
      } catch (e) {
        await this.teardown();
        throw e;
      }
      this.logger.info(`Metrics at ${this.metricsServer.url}/metrics`);
    }
  }

  protected async startParts(): Promise<void> {
    const onAudit = (evt: Event) => this.recordAudit((evt as transportEvents.EventAudit).detail);
    this.quicTransport?.addEventListener(transportEvents.EventAudit.name, onAudit);
    // Kademlia learns from who talks to it: an inbound peer's address is where we saw it.
    this.unsubscribeInbound = this.transport.onConnection((c) => {
      this.markPolykeyPunched(c);
      void this.discovery
        ?.remember(c.remoteNodeId, c.remoteAddress, 'observed')
        .catch((e) =>
          this.logger.warn(`Could not record an inbound peer: ${(e as Error).message}`),
        );
    });
    this.connectionManager.addEventListener(transportEvents.EventAudit.name, onAudit);
    await this.quicTransport?.start({
      listen: this.options.listen ?? [{ host: '0.0.0.0' }, { host: '::' }],
    });
    try {
      await this.relay?.start();
      await this.httpRelay?.start();
      await this.connectionManager.start({
        handlers: {
          ...(this.relay?.handlers() ?? {}),
          lookupNode: new LookupNodeHandler({ lookup: (id) => this.addressesOf(id) }),
          natProbeInfo: new NATProbeInfoHandler({ info: () => this.natProbeService.info() }),
          ...(this.signalling != null
            ? {
                signal: new SignalHandler({
                  handle: (input, from, ctx) => this.signalling!.handle(input, from, ctx),
                }),
              }
            : {}),
          ...(this.discovery != null
            ? {
                closestNodes: new ClosestNodesHandler({
                  closest: (t) => this.discovery!.closest(t),
                }),
                nodesClosestLocalNodesGet: new NodesClosestLocalNodesGetHandler({
                  closest: (t) => this.discovery!.closest(t),
                  now: () => this.clock.wallTime(),
                }),
              }
            : {}),
          ...this.polykeyHandlers(),
          ...this.options.handlers,
        },
      });
    } catch (e) {
      await this.quicTransport?.stop();
      throw e;
    }
    try {
      await this.natProbeService.start();
    } catch (e) {
      await this.connectionManager.stop();
      await this.quicTransport?.stop();
      throw new errors.ErrorNodeNetworkConfig(
        `Cannot start the NAT probe servers: ${(e as Error).message}`,
        { cause: e },
      );
    }
    await this.resolveSeeds();
    if (this.discovery != null && this.seeds.length > 0) {
      // The seeds, in one transaction.
      await this.discovery.graph.setAddresses(
        this.seeds.flatMap((seed) =>
          [
            ...(this.knownNodes.get(identity.encodeNodeId(seed.nodeId)) ?? []),
            ...seed.hostnames.map((h) => ({ ...h, family: 'hostname' as const })),
          ].map((a) => ({
            nodeId: seed.nodeId,
            address: {
              host: a.host,
              port: a.port,
              family: a.family,
              source: 'seed' as const,
              scope: 'global' as const,
            },
          })),
        ),
        this.clock.wallTime(),
      );
    }
    this.discovery?.graph.addEventListener(
      graphEvents.EventNodeGraphDecision.name,
      this.onGraphDecision,
    );
    this.maintenance?.start();
    // A gateway without port mapping costs about a second and an audit record, never the start.
    await this.portMapping?.start(this.transport.localAddresses);
    try {
      await this.mdns?.start(this.transport.localAddresses);
    } catch (e) {
      await this.teardown();
      throw new errors.ErrorNodeNetworkConfig(`Cannot start mDNS: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.logger.info(
      `Node ${identity.encodeNodeId(this.nodeId)} on ${this.options.network} at ${this.addresses.join(', ')}`,
    );
  }

  /**
   * Resolves the seeds' hostnames (each limited to 5 s) and adds what they
   * resolve to. A name that does not resolve is logged and audited; the
   * node starts without it.
   */
  protected async resolveSeeds(): Promise<void> {
    const resolve =
      this.options.resolveHost ??
      (async (host: string) =>
        (await dns.promises.lookup(host, { all: true, verbatim: true })).map((r) => r.address));
    for (const seed of this.seeds) {
      for (const h of seed.hostnames) {
        let timer: { cancel(): void } | undefined;
        try {
          const hosts = await Promise.race([
            resolve(h.host),
            new Promise<never>((_, reject) => {
              timer = this.clock.setTimer(5_000, () => reject(new Error(`no answer in 5000 ms`)));
            }),
          ]);
          const found = hosts.flatMap((x) => {
            try {
              return [addressUtils.toAddress(x, h.port)];
            } catch {
              return []; // not an IP literal (a scoped IPv6 address)
            }
          });
          this.addAddresses(seed.nodeId, found);
          this.recordAudit({
            time: this.clock.wallTime(),
            kind: 'lookup',
            nodeId: identity.encodeNodeId(seed.nodeId),
            outcome: found.length > 0 ? 'ok' : 'failed',
            detail: `seed ${h.host}:${h.port} resolved to ${found.map(addressUtils.formatAddress).join(' ') || 'nothing usable'}`,
          });
        } catch (e) {
          this.logger.warn(`Seed ${h.host} did not resolve: ${(e as Error).message}`);
          this.recordAudit({
            time: this.clock.wallTime(),
            kind: 'lookup',
            nodeId: identity.encodeNodeId(seed.nodeId),
            outcome: 'failed',
            detail: `seed ${h.host}:${h.port} did not resolve: ${(e as Error).message}`,
          });
        } finally {
          timer?.cancel();
        }
      }
    }
  }

  public async stop(): Promise<void> {
    await this.teardown();
  }

  /** Stops every part `start` started (also unwinds a failed start). */
  protected async teardown(): Promise<void> {
    await this.metricsServer?.stop();
    this.metricsServer = undefined;
    await this.mdns?.stop();
    await this.portMapping?.stop();
    await this.maintenance?.stop();
    this.discovery?.graph.removeEventListener(
      graphEvents.EventNodeGraphDecision.name,
      this.onGraphDecision,
    );
    this.unsubscribeInbound?.();
    await this.relay?.stop();
    await this.httpRelay?.stop();
    await this.natProbeService.stop();
    await this.connectionManager.stop();
    await this.quicTransport?.stop();
    await this.auditStore?.stop();
  }

  /**
   * Where others may reach us, for signalling: our reflexive addresses
   * (as peers see us, most seen first), then our sockets' own addresses (a
   * wildcard socket: this machine's non-loopback, non-link-local addresses
   * of that family).
   */
  protected ownCandidates(): Array<signalProtocol.Candidate> {
    // UDP blocked: nothing to punch toward (a relay reaches us).
    if (this.httpRelay?.active) return [];
    const out: Array<signalProtocol.Candidate> = [];
    const add = (host: string, port: number, kind: signalProtocol.CandidateKind) => {
      const a = addressUtils.tryParseAddress(addressUtils.formatAddress({ host, port }));
      if (a == null || out.some((b) => b.host === a.host && b.port === a.port)) return;
      out.push({ host: a.host, port: a.port, family: a.family, kind });
    };
    // A port the gateway forwards to us: dialled from anywhere, so first.
    for (const a of this.portMapping?.addresses() ?? []) add(a.host, a.port, 'upnp');
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const text of this.natDetector.classification(family).publicAddresses.slice(0, 2)) {
        const a = addressUtils.tryParseAddress(text);
        if (a != null) add(a.host, a.port, 'reflexive');
      }
    }
    for (const a of this.transport.localAddresses) {
      if (a.host !== '0.0.0.0' && a.host !== '::') {
        add(a.host, a.port, 'local');
        continue;
      }
      for (const i of Object.values(os.networkInterfaces()).flat()) {
        if (i == null || i.internal || (i.family === 'IPv4') !== (a.family === 'ipv4')) continue;
        if (addressUtils.hostScope(i.address as any) === 'link-local') continue;
        add(i.address, a.port, 'local');
      }
    }
    return out.slice(0, signalProtocol.maxCandidates);
  }

  /** How a live connection was made. */
  protected pathOf(c: Connection): 'direct' | 'punched' | 'relayed' | 'http-relay' {
    if (isWebSocket(c)) return 'http-relay';
    if (isRelayed(c)) return (c as { overHttp?: boolean }).overHttp ? 'http-relay' : 'relayed';
    return this.signalling?.isPunched(c.id) || this.polykeyPunched.has(c.id) ? 'punched' : 'direct';
  }

  /** Our NodeId in its text form. */
  public get nodeIdEncoded(): string {
    return identity.encodeNodeId(this.nodeId);
  }

  /** The addresses we accept connections on, as text. */
  public get addresses(): Array<string> {
    return [...(this.portMapping?.addresses() ?? []), ...this.transport.localAddresses].map(
      addressUtils.formatAddress,
    );
  }

  /** Remembers addresses for a node (they are tried in `connect`). */
  public addAddresses(nodeId: NodeId, addresses: ReadonlyArray<Address>): void {
    const k = identity.encodeNodeId(nodeId);
    const known = this.knownNodes.get(k) ?? [];
    for (const a of addresses) {
      if (!known.some((b) => addressUtils.addressEquals(a, b))) known.push(a);
    }
    this.knownNodes.set(k, known);
  }

  /**
   * Connects to `nodeId` (a NodeId or its text). Uses a live connection if
   * there is one; otherwise dials `addresses` (text or parsed) or, when
   * none are given, the addresses known for the node.
   */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async connect(
    nodeId: NodeId | string,
    addresses?: ReadonlyArray<Address | string>,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<ConnectResult> {
    try {
      const r = await this.connectByAnyPath(nodeId, addresses, ctx);
      this.metrics.observeConnect(r.reused ? 'reused' : 'ok', r.path);
      return r;
    } catch (e) {
      this.metrics.observeConnect('failed');
      throw e;
    }
  }

  /** `connect`'s work: a live connection, else direct, punched, relayed (see `connect`). */
  protected async connectByAnyPath(
    nodeId: NodeId | string,
    addresses?: ReadonlyArray<Address | string>,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<ConnectResult> {
    const id = typeof nodeId === 'string' ? identity.decodeNodeId(nodeId) : nodeId;
    const text = identity.encodeNodeId(id);
    const existing = this.connectionManager.getConnection(id);
    if (existing != null) {
      return {
        nodeId: text,
        connectionId: existing.connection.id,
        path: this.pathOf(existing.connection),
        address: addressUtils.formatAddress(existing.connection.remoteAddress),
        durationMs: 0,
        reused: true,
      };
    }
    const given = (addresses ?? []).map((a) =>
      typeof a === 'string' ? addressUtils.parseAddress(a) : a,
    );
    const t0 = this.clock.now();
    let toTry = given.length > 0 ? given : (this.knownNodes.get(text) ?? []);
    let fromGraph = false;
    if (toTry.length === 0 && this.discovery != null) {
      toTry = await this.discovery.addressesOf(id);
      fromGraph = toTry.length > 0;
      if (toTry.length === 0) toTry = (await this.findAddresses(id, ctx ?? {})).addresses;
    }
    if (toTry.length === 0) {
      toTry = await this.lookupViaPeers(id, ctx);
      if (toTry.length === 0 && this.signalling == null) {
        throw new errors.ErrorNodeNetworkNodeUnknown(
          `No address is known for ${text}, and none of our ${this.connectionManager.listConnections().length} connected peers knows one; pass addresses or add it as a seed node`,
        );
      }
    }
    const total = typeof ctx?.timer === 'number' ? ctx.timer : undefined;
    const remaining = () =>
      total == null ? undefined : Math.max(1, total - (this.clock.now() - t0));
    let nc: NodeConnection | undefined;
    let path: 'direct' | 'punched' | 'relayed' | 'http-relay' = 'direct';
    let directError: Error | undefined;
    let signalError: Error | undefined;
    let relayError: Error | undefined;
    // UDP blocked: no dial or punch can work; straight to a relay over our HTTP relay connections.
    const udpBlocked = this.httpRelay?.active === true && this.relay != null;
    if (!udpBlocked && this.signalling == null && toTry.length > 0) {
      try {
        nc = await this.connectionManager.connect(id, toTry, { timer: total, signal: ctx?.signal });
      } catch (e) {
        if (fromGraph && !ctx?.signal?.aborted) {
          await this.discovery!.recordDialFailure(id, toTry, e);
        }
        throw e;
      }
    } else if (!udpBlocked) {
      const r = await this.connectDirectOrPunched(id, toTry, {
        total,
        remaining,
        signal: ctx?.signal,
      });
      ({ nc, directError, signalError, relayError } = r);
      if (r.nc != null) path = r.path;
      // The table's addresses for this node failed: GC drops them after a few such failures.
      if (fromGraph && r.directFailed) {
        await this.discovery!.recordDialFailure(id, toTry, directError);
      }
      if (r.fatal != null) throw r.fatal;
    }
    if (nc == null && !udpBlocked && this.polykeySignalWorth(signalError)) {
      // A Polykey 1.x agent on the way speaks only its own signalling: ask our peers to signal it.
      try {
        const r = await this.connectThroughPolykeySignal(id, remaining(), ctx?.signal);
        nc = r;
        path = 'punched';
      } catch (e) {
        if (ctx?.signal?.aborted) throw e;
        signalError = new errors.ErrorNodeNetworkConnect(
          `${signalError?.message ?? 'no signal route'}; Polykey 1.x signalling: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    if (
      nc == null &&
      relayError == null &&
      this.relay != null &&
      !(signalError instanceof signalErrors.ErrorSignalNoRoute)
    ) {
      try {
        nc = await this.relay.connect(id, { timer: remaining(), signal: ctx?.signal });
        path = this.pathOf(nc.connection);
      } catch (e) {
        if (ctx?.signal?.aborted) throw e;
        relayError = e as Error;
      }
    }
    if (nc == null && udpBlocked) {
      throw new errors.ErrorNodeNetworkConnect(
        `Cannot connect to ${text}: UDP is blocked here and no relay took us: ${relayError!.message}`,
        { cause: relayError },
      );
    }
    if (nc == null) {
      const e = signalError!;
      if (directError == null && e instanceof signalErrors.ErrorSignalNoRoute) {
        throw new errors.ErrorNodeNetworkNodeUnknown(
          `No address is known for ${text}, none of our connected peers knows one, and no signal route: ${e.message}`,
          { cause: e },
        );
      }
      throw new errors.ErrorNodeNetworkConnect(
        `Cannot connect to ${text}: ${directError != null ? `direct: ${directError.message}; ` : ''}signalled: ${e.message}${relayError != null ? `; relayed: ${relayError.message}` : ''}`,
        {
          cause: relayError ?? e,
          data: {
            direct: directError?.message,
            signalled: e.message,
            relayed: relayError?.message,
          },
        },
      );
    }
    if (given.length > 0) this.addAddresses(id, given);
    if (path === 'direct' || path === 'punched') {
      // (A relayed connection's address is the relay's, not the node's.)
      await this.discovery
        ?.remember(id, nc.connection.remoteAddress, given.length > 0 ? 'config' : 'lookup', path)
        .catch((e) => this.logger.warn(`Could not record ${text}: ${(e as Error).message}`));
    }
    // Learn our reflexive address from this peer, in the background.
    void this.learnReflexiveAddress(id).catch(() => {});
    return {
      nodeId: text,
      connectionId: nc.connection.id,
      path,
      address: addressUtils.formatAddress(nc.connection.remoteAddress),
      durationMs: this.clock.now() - t0,
      reused: false,
    };
  }

  /**
   * The direct dial and signalling with punching, raced. The dial runs alone
   * for `directHeadStartTime` (a dial that can work has usually connected
   * by then); then signalling starts beside it (at once when there is no
   * address to dial, or the dial already failed). When the answer says
   * their NAT filters, it cancels a dial still pending (stuck until they
   * punch; punching dials their candidates afresh); when it says their NAT
   * lets a first packet in, the pending dial is the path and we punch only
   * if it fails. When it says both NATs are endpoint-dependent (a punch is
   * unlikely), the relay starts beside the punch, which goes on (if it
   * connects, its connection replaces the relayed one). The first
   * connection wins and the other attempts are cancelled; each step is in
   * the audit trail.
   */
  protected async connectDirectOrPunched(
    id: NodeId,
    addresses: ReadonlyArray<Address>,
    {
      total,
      remaining,
      signal,
    }: { total?: number; remaining: () => number | undefined; signal?: AbortSignal },
  ): Promise<{
    nc?: NodeConnection;
    path: 'direct' | 'punched' | 'relayed' | 'http-relay';
    directError?: Error;
    signalError?: Error;
    /** Set when the relay was tried here (and failed): it is not tried again. */
    relayError?: Error;
    /** The direct dial failed by itself (we did not cancel it): its addresses count a failure. */
    directFailed: boolean;
    /** Ends `connect` with no fallback: the caller cancelled, or the peer refused us. */
    fatal?: Error;
  }> {
    const text = identity.encodeNodeId(id);
    const headStart = this.options.directHeadStartTime ?? 250;
    const directAbort = new AbortController();
    const signalAbort = new AbortController();
    const relayAbort = new AbortController();
    const onAbort = () => {
      for (const c of [directAbort, signalAbort, relayAbort]) c.abort(signal!.reason);
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    /** One attempt's state: settled, with a connection or an error. */
    type Attempt = { done: Promise<void>; settled: boolean; nc?: NodeConnection; error?: Error };
    const attempt = (p: Promise<NodeConnection>): Attempt => {
      const a: Attempt = { done: Promise.resolve(), settled: false };
      a.done = p.then(
        (nc) => {
          a.nc = nc;
          a.settled = true;
        },
        (e) => {
          a.error = e as Error;
          a.settled = true;
        },
      );
      return a;
    };
    const none: Attempt = { done: Promise.resolve(), settled: true };
    let direct = none;
    /** Signalling with punching, and the relay beside an unlikely punch (once started). */
    const later: { signalled?: Attempt; relayed?: Attempt } = {};
    /** We cancelled the dial (the signal answer came, or another path connected). */
    let directCancelled = false;
    if (addresses.length > 0) {
      const timer = Math.min(this.options.directTimeoutTime ?? 3_000, total ?? Infinity);
      direct = attempt(
        this.connectionManager.connect(id, addresses, { timer, signal: directAbort.signal }),
      );
      // The head start: the dial alone, until it settles or `headStart` passes.
      await new Promise<void>((resolve) => {
        const t = this.clock.setTimer(headStart, resolve);
        void direct.done.then(() => {
          t.cancel();
          resolve();
        });
      });
    }
    const cancelDirect = async (why: string) => {
      if (!direct.settled) {
        directCancelled = true;
        directAbort.abort(new baseErrors.ErrorCancelled(why));
      }
      await direct.done;
    };
    const fatalDirect = () =>
      direct.error != null && !directCancelled && !worthSignalling(direct.error);
    const result = (r: {
      nc?: NodeConnection;
      path?: 'direct' | 'punched' | 'relayed' | 'http-relay';
      fatal?: Error;
    }) => {
      signal?.removeEventListener('abort', onAbort);
      return {
        nc: r.nc,
        path: r.path ?? 'direct',
        directError:
          directCancelled && direct.error != null
            ? new baseErrors.ErrorCancelled(
                'cancelled when the signal answer said their NAT filters (punching dialled their candidates)',
                { cause: direct.error },
              )
            : direct.error,
        signalError: later.signalled?.error,
        relayError: later.relayed?.error,
        directFailed: direct.error != null && !directCancelled && !(signal?.aborted ?? false),
        fatal:
          r.fatal ??
          (signal?.aborted
            ? (later.signalled?.error ??
              direct.error ??
              new baseErrors.ErrorCancelled(`Connect to ${text} was cancelled`))
            : undefined),
      };
    };
    if (direct.nc != null) return result({ nc: direct.nc, path: 'direct' });
    if (signal?.aborted) return result({});
    if (fatalDirect()) return result({ fatal: direct.error });
    const why =
      addresses.length === 0
        ? 'no address to dial'
        : direct.error != null
          ? `the direct dial failed (${direct.error.message})`
          : `the direct dial had not connected after ${headStart} ms (it goes on: the answer cancels it if their NAT filters)`;
    // Called as attempts settle (set below, once all of them exist).
    let check = () => {};
    const signalled = attempt(
      this.signalling!.connect(
        id,
        { timer: remaining(), signal: signalAbort.signal },
        {
          why,
          prefer: this.lookupKnowers.get(text),
          beforePunch: async ({ plan, nat, candidates }) => {
            if (
              !direct.settled &&
              addresses.some(
                (a) =>
                  nat[a.family]?.filtering === 'endpoint-independent' &&
                  candidates.some((c) => {
                    const b = addressUtils.tryParseAddress(addressUtils.formatAddress(c));
                    return b != null && addressUtils.addressEquals(a, b);
                  }),
              )
            ) {
              // We dial one of their addresses and their NAT (if any) lets a first packet in: the
              // dial is slow, not stuck. It is the path; we punch only if it fails.
              await direct.done;
            } else {
              // Their NAT filters: the dial is stuck until they punch; punching dials afresh.
              await cancelDirect('Their NAT filters: punching dials their candidates');
            }
            if (direct.nc != null) {
              throw new baseErrors.ErrorCancelled(`A direct dial to ${text} connected`);
            }
            if (plan.kind === 'both-dependent' && this.relay != null) {
              // A punch between two endpoint-dependent NATs is unlikely: the relay now, beside it.
              const relayed = attempt(
                this.relay.connect(id, { timer: remaining(), signal: relayAbort.signal }),
              );
              later.relayed = relayed;
              void relayed.done.then(check);
            }
          },
        },
      ).then((r) => r.nc),
    );
    later.signalled = signalled;
    // The first connection, else every attempt settled.
    await new Promise<void>((resolve) => {
      check = () => {
        const all = [direct, signalled, ...(later.relayed != null ? [later.relayed] : [])];
        if (all.some((a) => a.nc != null) || fatalDirect() || all.every((a) => a.settled)) {
          resolve();
        }
      };
      void direct.done.then(check);
      void signalled.done.then(check);
    });
    if (signalled.nc != null) {
      await cancelDirect(`Punching toward ${text} connected`);
      relayAbort.abort(new baseErrors.ErrorCancelled(`Punching toward ${text} connected`));
      await later.relayed?.done;
      return result({ nc: signalled.nc, path: 'punched' });
    }
    const relayedNc = later.relayed?.nc;
    if (relayedNc != null) {
      // The punch goes on to its deadline: if it connects, its connection replaces this one.
      return result({ nc: relayedNc, path: this.pathOf(relayedNc.connection) });
    }
    if (!signalled.settled) {
      signalAbort.abort(
        new baseErrors.ErrorCancelled(
          direct.nc != null ? `A direct dial to ${text} connected` : 'The direct dial was refused',
        ),
      );
      await signalled.done;
    }
    if (direct.nc != null) return result({ nc: direct.nc, path: 'direct' });
    if (fatalDirect()) return result({ fatal: direct.error });
    return result({});
  }

  /**
   * The Polykey 1.x networking methods besides `nodesClosestLocalNodesGet`
   * (served with the NodeGraph): our connections closest to a NodeId, and
   * 1.x signalling (relaying needs our key pair to sign).
   */
  protected polykeyHandlers(): Record<string, any> {
    const keyPair = this.options.keyPair;
    return {
      nodesClosestActiveConnectionsGet: new NodesClosestActiveConnectionsGetHandler({
        connections: (target) =>
          this.connectionManager
            .listConnections()
            .filter((nc) => connectionPath(nc.connection) === 'direct')
            .map((nc) => ({
              nodeId: nc.connection.remoteNodeId,
              connectionId: nc.connection.id,
              address: {
                host: nc.connection.remoteAddress.host,
                port: nc.connection.remoteAddress.port,
              },
            }))
            .sort((a, b) => polykeyMessages.compareDistance(target, a.nodeId, b.nodeId))
            .slice(0, 20),
      }),
      nodesConnectionSignalFinal: new NodesConnectionSignalFinalHandler({
        punch: (source, address) => this.punchForPolykey(source, address),
      }),
      ...(keyPair != null
        ? {
            nodesConnectionSignalInitial: new NodesConnectionSignalInitialHandler({
              relay: async (source, target, sourceAddress, requestSignature) => {
                const nc = this.connectionManager.getConnection(target);
                if (nc == null || connectionPath(nc.connection) !== 'direct') {
                  throw new errors.ErrorNodeNetworkNodeUnknown(
                    `We hold no direct connection to ${identity.encodeNodeId(target)} to signal through`,
                  );
                }
                const relaySignature = identity.sign(
                  keyPair.privateKey,
                  polykeyMessages.signalRelayData(source, target, sourceAddress, requestSignature),
                );
                this.recordAudit({
                  time: this.clock.wallTime(),
                  kind: 'signal',
                  outcome: 'ok',
                  nodeId: identity.encodeNodeId(target),
                  detail: `relayed a Polykey 1.x signal from ${identity.encodeNodeId(source)} at ${sourceAddress.host}:${sourceAddress.port}`,
                });
                // Fire and forget, as 1.x does: the caller dials the address we answer.
                void nc.rpc
                  .unary(
                    'nodesConnectionSignalFinal',
                    {
                      sourceNodeIdEncoded: identity.encodeNodeId(source),
                      targetNodeIdEncoded: identity.encodeNodeId(target),
                      address: sourceAddress,
                      requestSignature: Buffer.from(requestSignature).toString('base64url'),
                      relaySignature: Buffer.from(relaySignature).toString('base64url'),
                    },
                    { timer: 5_000 },
                  )
                  .catch((e) =>
                    this.logger.info(
                      `Polykey signal to ${identity.encodeNodeId(target)} failed: ${(e as Error).message}`,
                    ),
                  );
                return {
                  host: nc.connection.remoteAddress.host,
                  port: nc.connection.remoteAddress.port,
                };
              },
            }),
          }
        : {}),
    };
  }

  /**
   * Whether to try Polykey 1.x signalling after ours failed: when we hold a
   * connection to a 1.x agent (it may be the one that knows the target), or
   * when our signal stopped at one (a peer could not forward it to a 1.x
   * agent). Never for node-network-only paths: they go on to a relay.
   */
  protected polykeySignalWorth(signalError: Error | undefined): boolean {
    if (this.options.keyPair == null) return false;
    if (this.connectionManager.listConnections().some((nc) => isPolykeyPeer(nc.connection))) {
      return true;
    }
    for (let e: unknown = signalError; e != null; e = (e as { cause?: unknown }).cause) {
      if (/Polykey 1\.x/.test((e as Error).message ?? '')) return true;
    }
    return false;
  }

  /** Polykey 1.x signalling through the (at most 3) direct peers closest to `target`, 1.x agents first. */
  protected async connectThroughPolykeySignal(
    target: NodeId,
    timer: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<NodeConnection> {
    const relays = this.connectionManager
      .listConnections()
      .filter(
        (nc) =>
          connectionPath(nc.connection) === 'direct' &&
          !identity.nodeIdEquals(nc.connection.remoteNodeId, target),
      )
      .sort(
        (a, b) =>
          Number(isPolykeyPeer(b.connection)) - Number(isPolykeyPeer(a.connection)) ||
          polykeyMessages.compareDistance(
            target,
            a.connection.remoteNodeId,
            b.connection.remoteNodeId,
          ),
      )
      .slice(0, 3);
    const t0 = this.clock.now();
    const r = await connectBySignalInitial({
      manager: this.connectionManager,
      keyPair: this.options.keyPair!,
      clock: this.clock,
      target,
      relays,
      timer: Math.min(timer ?? 15_000, 15_000),
      signal,
    });
    const id = r.nc.connection.id;
    this.polykeyPunched.add(id);
    r.nc.connection.onClose(() => this.polykeyPunched.delete(id));
    this.recordAudit({
      time: this.clock.wallTime(),
      kind: 'signal',
      outcome: 'ok',
      nodeId: identity.encodeNodeId(target),
      path: 'punched',
      durationMs: this.clock.now() - t0,
      detail: `connected by Polykey 1.x signalling through ${identity.encodeNodeId(r.relay)}`,
    });
    return r.nc;
  }

  /**
   * A 1.x signal reached us: punch toward the source from our QUIC socket
   * (1 s doubling, 15 s, as 1.x does) until it connects.
   */
  protected punchForPolykey(source: NodeId, address: { host: string; port: number }): void {
    const transport = this.quicTransport;
    if (transport == null) return;
    let to: ReturnType<typeof addressUtils.toAddress>;
    try {
      to = addressUtils.toAddress(address.host, address.port);
    } catch {
      return;
    }
    const started = this.clock.now();
    this.polykeyPunching.set(identity.encodeNodeId(source), started + 15_000);
    this.recordAudit({
      time: this.clock.wallTime(),
      kind: 'punch',
      nodeId: identity.encodeNodeId(source),
      address: addressUtils.formatAddress(to),
      detail: `a Polykey 1.x signal: punching toward ${identity.encodeNodeId(source)} (1 s doubling, 15 s)`,
    });
    const punch = (delay: number) => {
      if (this.connectionManager.getConnection(source) != null) return;
      if (this.clock.now() - started > 15_000) return;
      void transport.sendPunch(to, this.randomBytes(16)).catch(() => {});
      this.clock.setTimer(delay, () => punch(delay * 2));
    };
    punch(1_000);
  }

  /**
   * Finds `nodeId` with a Kademlia lookup (needs a NodeGraph), then
   * connects to it. Says how many rounds and queries the lookup took.
   */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async findNode(
    nodeId: NodeId | string,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<ConnectResult & { rounds: number; queries: number }> {
    const id = typeof nodeId === 'string' ? identity.decodeNodeId(nodeId) : nodeId;
    if (this.connectionManager.getConnection(id) != null) {
      return { ...(await this.connect(id, undefined, ctx)), rounds: 0, queries: 0 };
    }
    const { addresses, rounds, queries } = await this.findAddresses(id, ctx);
    if (addresses.length === 0) {
      throw new errors.ErrorNodeNetworkNodeUnknown(
        `A lookup for ${identity.encodeNodeId(id)} (${rounds} rounds, ${queries} queries) did not find it`,
      );
    }
    return { ...(await this.connect(id, addresses, ctx)), rounds, queries };
  }

  /**
   * Fills the table: connects to the seed nodes and looks up our own
   * NodeId (Kademlia's join). Returns the contacts the table then holds.
   */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async bootstrap(ctx: Partial<ContextTimedInput> = {}): Promise<number> {
    if (this.discovery == null) {
      throw new errors.ErrorNodeNetworkConfig('bootstrap needs a NodeGraph (the nodeGraph option)');
    }
    await this.resolveSeeds();
    await Promise.allSettled(this.seeds.map((s) => this.connect(s.nodeId, undefined, ctx)));
    await this.findAddresses(this.nodeId, ctx, 'join');
    // The relays we name are chosen by latency: measure it now, not a minute from now.
    await this.relay?.refresh();
    return this.discovery.graph.size();
  }

  /**
   * Runs one pass of the NodeGraph's maintenance now (ping-before-evict,
   * refresh of stale buckets, and GC when `gc` or when due), and says what
   * it did. Needs a NodeGraph; works with `maintenance: false` too.
   */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async maintain({ gc = false }: { gc?: boolean } = {}): Promise<MaintenanceReport> {
    if (this.discovery == null) {
      throw new errors.ErrorNodeNetworkConfig('maintain needs a NodeGraph (the nodeGraph option)');
    }
    // With maintenance off, a one-off runner on the same parts.
    const m = this.maintenance ?? this.makeMaintenance(this.discovery.graph, {});
    return m.runPass({ gc });
  }

  protected makeMaintenance(
    graph: NodeGraph,
    config: Partial<NodeMaintenanceConfig> = {},
  ): NodeMaintenance {
    return new NodeMaintenance({
      graph,
      clock: this.clock,
      randomBytes: this.randomBytes,
      ping: (id, timer) =>
        this.ping(id, { timer }).then(
          () => true,
          () => false,
        ),
      lookup: (target) => this.findAddresses(target, {}, 'refresh'),
      onReport: (r) => this.recordMaintenance(r),
      config,
      logger: this.logger.getChild('NodeMaintenance'),
    });
  }

  protected recordMaintenance(r: MaintenanceReport): void {
    if (r.pendingBefore === 0 && r.refreshed.length === 0 && r.gc == null) return;
    this.recordAudit({
      time: this.clock.wallTime(),
      kind: 'nodegraph',
      detail: `maintenance: ${r.pendingBefore} candidates waited for full buckets; refreshed buckets ${
        r.refreshed.map((x) => `${x.bucket}${x.ok ? '' : ` (failed: ${x.error})`}`).join(', ') ||
        'none'
      }${r.gc != null ? `; GC scanned ${r.gc.scanned}, dropped ${r.gc.addressesDropped} addresses, removed ${r.gc.contactsRemoved} contacts` : ''}`,
    });
  }

  /**
   * A Kademlia lookup for `id`; audited. `join` (our own id) and `refresh`
   * (a random id in a bucket) succeed when some node answered; `find`
   * only when the node itself turned up.
   */
  protected async findAddresses(
    id: NodeId,
    ctx: Partial<ContextTimedInput>,
    purpose: 'find' | 'join' | 'refresh' = 'find',
  ): Promise<{ addresses: Array<Address>; rounds: number; queries: number }> {
    if (this.discovery == null) {
      throw new errors.ErrorNodeNetworkConfig('findNode needs a NodeGraph (the nodeGraph option)');
    }
    const r = await this.discovery.lookup(id, ctx);
    const addresses = (r.found?.addresses ?? []).flatMap(
      (a) => addressUtils.tryParseAddress(a) ?? [],
    );
    this.recordAudit({
      time: this.clock.wallTime(),
      kind: 'lookup',
      nodeId: identity.encodeNodeId(id),
      outcome: (purpose === 'find' ? r.found != null : r.closest.length > 0) ? 'ok' : 'failed',
      detail: `Kademlia lookup (${purpose}): ${r.rounds} rounds, ${r.queries} queries, ${r.failed.length} failed, ${r.closest.length} closest answered${r.found != null ? `, found at ${r.found.addresses.join(' ')}` : ''}${
        r.failed.length > 0
          ? `; failures: ${r.failed
              .slice(0, 3)
              .map((f) => `${identity.encodeNodeId(f.nodeId)}: ${f.error}`)
              .join('; ')}`
          : ''
      }`,
    });
    return { addresses, rounds: r.rounds, queries: r.queries };
  }

  /** Connects if needed, then measures one `ping` round trip, ms. */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async ping(nodeId: NodeId | string, ctx?: Partial<ContextTimedInput>): Promise<number> {
    const id = typeof nodeId === 'string' ? identity.decodeNodeId(nodeId) : nodeId;
    await this.connect(id, undefined, ctx);
    return this.connectionManager.ping(id, ctx);
  }

  /** Our address as `nodeId` sees it. */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async observedAddress(
    nodeId: NodeId | string,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<string> {
    const id = typeof nodeId === 'string' ? identity.decodeNodeId(nodeId) : nodeId;
    await this.connect(id, undefined, ctx);
    return addressUtils.formatAddress(await this.connectionManager.observedAddress(id, ctx));
  }

  /**
   * Learns what our NAT does from `peers`: connects to each, asks each for
   * our reflexive address twice (the detector confirms a belief before it
   * adopts it) and runs one filtering probe with each. A peer that cannot be
   * reached (no common family, UDP blocked) is skipped: that is part of the
   * answer. Returns the resulting `status().nat`.
   */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async observeNat(
    peers: ReadonlyArray<NodeId | string>,
    { timeoutMs = 3_000 }: { timeoutMs?: number } = {},
  ): Promise<NodeNetworkStatus['nat']> {
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        peers.map(async (peer) => {
          const id = typeof peer === 'string' ? identity.decodeNodeId(peer) : peer;
          try {
            await this.connect(id, undefined, { timer: timeoutMs });
            await this.learnReflexiveAddress(id, { timer: timeoutMs });
            if (round === 0) await this.probeNat(id, { timer: timeoutMs + 3_000 });
          } catch {
            // Unreachable peers are skipped.
          }
        }),
      );
    }
    // No peer answered over UDP: the HTTP relays, if configured.
    await this.httpRelay?.check();
    return this.status().nat;
  }

  /** Whether some seed answers over UDP now (a dial to it, closed at once). */
  protected async udpWorks(): Promise<boolean> {
    for (const seed of this.seeds) {
      for (const address of this.knownNodes.get(identity.encodeNodeId(seed.nodeId)) ?? []) {
        try {
          const c = await this.transport.dial(seed.nodeId, address, { timer: 3_000 });
          await c.close();
          return true;
        } catch {
          // next
        }
      }
    }
    return false;
  }

  /**
   * Asks `nodeId` where it sees us and feeds the answer to the NAT detector.
   * A wildcard-bound socket's local host is taken from the answer when the
   * answer is one of this machine's own addresses.
   */
  public async learnReflexiveAddress(
    nodeId: NodeId,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<void> {
    const nc = this.connectionManager.getConnection(nodeId);
    // Through a relay (or over WebSocket) the peer does not see our UDP address.
    if (nc == null || isRelayed(nc.connection) || isWebSocket(nc.connection)) return;
    const reflexive = await this.connectionManager.observedAddress(nodeId, ctx);
    let local = nc.connection.localAddress;
    if (local.host === '0.0.0.0' || local.host === '::') {
      const own = Object.values(os.networkInterfaces())
        .flat()
        .some((i) => i != null && i.address === reflexive.host);
      local = { ...local, host: own ? reflexive.host : local.host };
    }
    this.natDetector.observe({
      observer: identity.encodeNodeId(nodeId),
      observerAddress: nc.connection.remoteAddress,
      local,
      reflexive,
      at: this.clock.now(),
    });
    this.recordNatEvents();
  }

  /** Turns the NAT detector's belief changes into audit records. */
  protected recordNatEvents(): void {
    for (let e = this.natDetector.pollEvent(); e != null; e = this.natDetector.pollEvent()) {
      this.recordAudit({
        time: this.clock.wallTime(),
        kind: 'nat-classification',
        detail: `${e.current.family}: ${e.previous.mapping} -> ${e.current.mapping} (ports ${e.current.allocation}, filtering ${e.current.filtering}, ${e.current.observers} observers, public ${e.current.publicAddresses.join(' ')})`,
      });
    }
  }

  /** The NAT probe servers `nodeId` runs (it must be reachable). */
  protected async natProbeServersOf(
    nodeId: NodeId,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<Array<NATProbeInfo>> {
    await this.connect(nodeId, undefined, ctx);
    const nc = this.connectionManager.getConnection(nodeId)!;
    const r = await nc.rpc.unary<{}, { servers: Array<NATProbeInfo> }>('natProbeInfo', {}, ctx);
    const servers = Array.isArray(r?.servers) ? r.servers.slice(0, 4) : [];
    // A peer's answer is untrusted: keep only well-formed entries.
    return servers.filter(
      (i) =>
        addressUtils.tryParseAddress(String(i?.address)) != null && Array.isArray(i.capabilities),
    );
  }

  /**
   * Measures our NAT's filtering with `nodeId`'s probe servers (one per
   * family we can bind): a fresh port asks for answers from the server's
   * other port and other IP, and the result joins the NAT detector's
   * belief. Returns the filtering each test found.
   */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async probeNat(
    nodeId: NodeId | string,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<Array<{ family: string; filtering: string }>> {
    const id = typeof nodeId === 'string' ? identity.decodeNodeId(nodeId) : nodeId;
    const text = identity.encodeNodeId(id);
    const out: Array<{ family: string; filtering: string }> = [];
    for (const info of await this.natProbeServersOf(id, ctx)) {
      const server = addressUtils.parseAddress(info.address);
      let port;
      try {
        port = await this.bindDatagramPort({
          host: server.family === 'ipv6' ? '::' : '0.0.0.0',
          port: 0,
          family: server.family,
        });
      } catch {
        continue; // no socket of this family here
      }
      try {
        const r = await probeFiltering({
          clock: this.clock,
          port,
          server,
          capabilities: info.capabilities.filter((c) =>
            ['same', 'other-port', 'other-host'].includes(c),
          ),
          signal: ctx.signal,
        });
        const filtering = filteringFrom(r);
        this.natDetector.observeFiltering({
          family: server.family,
          observer: text,
          ...r,
          at: this.clock.now(),
        });
        this.recordNatEvents();
        this.recordAudit({
          time: this.clock.wallTime(),
          kind: 'nat-probe',
          nodeId: text,
          address: info.address,
          outcome: r.same ? 'ok' : 'failed',
          detail: `filtering ${filtering}: same ${r.same}, other port ${r.otherPort ?? 'n/a'}, other host ${r.otherHost ?? 'n/a'}`,
        });
        out.push({ family: server.family, filtering });
      } finally {
        await port.close();
      }
    }
    return out;
  }

  /**
   * Measures how long our NAT keeps an idle UDP mapping, with `nodeId`'s
   * probe server of `family` (probes after growing `intervals` of silence,
   * each from a fresh port, until one goes unanswered). The result is
   * published in `status().nat`.
   */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async measureMappingLifetime(
    nodeId: NodeId | string,
    { family = 'ipv4', intervals }: { family?: 'ipv4' | 'ipv6'; intervals?: Array<number> } = {},
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<{ aliveAt: number; deadAt?: number; recommendedKeepAliveMs: number }> {
    const id = typeof nodeId === 'string' ? identity.decodeNodeId(nodeId) : nodeId;
    const info = (await this.natProbeServersOf(id, ctx)).find(
      (i) => addressUtils.parseAddress(i.address).family === family,
    );
    if (info == null) {
      throw new errors.ErrorNodeNetworkNATProbe(
        `${identity.encodeNodeId(id)} runs no ${family} NAT probe server`,
      );
    }
    const server = addressUtils.parseAddress(info.address);
    const r = await probeMappingLifetime({
      clock: this.clock,
      bindFresh: () =>
        this.bindDatagramPort({ host: family === 'ipv6' ? '::' : '0.0.0.0', port: 0, family }),
      server,
      intervals,
      signal: ctx.signal,
    });
    this.natDetector.observeMappingLifetime(family, { ...r, at: this.clock.now() });
    this.recordAudit({
      time: this.clock.wallTime(),
      kind: 'nat-probe',
      nodeId: identity.encodeNodeId(id),
      address: info.address,
      outcome: 'ok',
      detail: `${family} mapping lifetime: alive after ${r.aliveAt} ms, gone after ${r.deadAt ?? 'none tested'} ms; keepalive ${r.recommendedKeepAliveMs} ms`,
    });
    return r;
  }

  /**
   * The addresses we would give for `nodeId`: its live connection's remote
   * address (where we see it) first, then those we were told.
   */
  public addressesOf(nodeId: NodeId): Array<string> {
    const out: Array<string> = [];
    const live = this.connectionManager.getConnection(nodeId);
    // A relayed connection's remote address is the relay's (chaosnet found lookups answering it,
    // and the asker then dialled the relay for the node: ErrorConnectionNodeIdMismatch).
    if (live != null && !isRelayed(live.connection) && !isWebSocket(live.connection)) {
      out.push(addressUtils.formatAddress(live.connection.remoteAddress));
    }
    for (const a of this.knownNodes.get(identity.encodeNodeId(nodeId)) ?? []) {
      const t = addressUtils.formatAddress(a);
      if (!out.includes(t)) out.push(t);
    }
    return out;
  }

  /**
   * Asks every connected peer for `nodeId`'s addresses (one hop; the
   * NodeGraph's Kademlia lookups replace this). Remembers what it learns.
   */
  protected async lookupViaPeers(
    nodeId: NodeId,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<Array<Address>> {
    const text = identity.encodeNodeId(nodeId);
    const peers = this.connectionManager
      .listConnections()
      .filter((nc) => !identity.nodeIdEquals(nc.connection.remoteNodeId, nodeId));
    const timer = Math.min(
      this.lookupTimeoutTime,
      typeof ctx.timer === 'number' ? ctx.timer : this.lookupTimeoutTime,
    );
    const grace = this.options.lookupGraceTime ?? 50;
    const abort = new AbortController();
    // One call per peer listens on it: not a leak (Node warns past 10 listeners).
    setMaxListeners(peers.length + 10, abort.signal);
    const onAbort = () => abort.abort(ctx.signal!.reason);
    if (ctx.signal?.aborted) onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const t0 = this.clock.now();
    const answers: Array<{ via: NodeId; addresses?: Array<unknown>; error?: Error }> = [];
    let firstFound: number | undefined;
    // Every answer, or `grace` after the first one with addresses: a slow peer holds us no longer.
    await new Promise<void>((resolve) => {
      let graceTimer: TimerHandle | undefined;
      const settle = () => {
        graceTimer?.cancel();
        resolve();
      };
      if (peers.length === 0) return settle();
      for (const nc of peers) {
        nc.rpc
          .unary<{ nodeId: string }, { addresses: Array<string> }>(
            'lookupNode',
            { nodeId: text },
            { timer, signal: abort.signal },
          )
          .then(
            (v) => {
              const addresses = Array.isArray(v?.addresses) ? v.addresses : [];
              answers.push({ via: nc.connection.remoteNodeId, addresses });
              if (addresses.length > 0 && firstFound == null) {
                firstFound = this.clock.now() - t0;
                graceTimer = this.clock.setTimer(grace, settle);
              }
            },
            (e) => answers.push({ via: nc.connection.remoteNodeId, error: e as Error }),
          )
          .finally(() => {
            if (answers.length === peers.length) settle();
          });
      }
    });
    ctx.signal?.removeEventListener('abort', onAbort);
    const pending = peers.length - answers.length;
    if (pending > 0) abort.abort(new baseErrors.ErrorCancelled('The lookup went on without it'));
    const found: Array<Address> = [];
    const knowers: Array<NodeId> = [];
    let invalid = 0;
    for (const a of answers) {
      if (a.addresses == null || a.addresses.length === 0) continue;
      knowers.push(a.via);
      for (const t of a.addresses.slice(0, 16)) {
        const addr = addressUtils.tryParseAddress(String(t));
        if (addr == null) invalid++;
        else if (!found.some((b) => addressUtils.addressEquals(addr, b))) found.push(addr);
      }
    }
    // The peers that know the node are the likeliest first hops of a signal to it.
    this.lookupKnowers.delete(text);
    this.lookupKnowers.set(text, knowers);
    if (this.lookupKnowers.size > 1024) {
      this.lookupKnowers.delete(this.lookupKnowers.keys().next().value!);
    }
    const failed = answers.filter((a) => a.error != null).length;
    this.recordAudit({
      time: this.clock.wallTime(),
      kind: 'lookup',
      nodeId: text,
      outcome: found.length > 0 ? 'ok' : 'failed',
      detail: `asked ${peers.length} peers (${failed} failed${
        pending > 0
          ? `; went on ${grace} ms after the first answer with addresses (${Math.round(firstFound!)} ms), cancelling ${pending} still pending`
          : ''
      }), got ${found.length} addresses${invalid > 0 ? `, ${invalid} malformed` : ''}: ${found.map(addressUtils.formatAddress).join(' ')}`,
    });
    if (found.length > 0) this.addAddresses(nodeId, found);
    return found;
  }

  public status(): NodeNetworkStatus {
    const knownNodes: Record<string, Array<string>> = {};
    for (const [k, v] of this.knownNodes) knownNodes[k] = v.map(addressUtils.formatAddress);
    return {
      nodeId: this.nodeIdEncoded,
      network: this.network,
      addresses: this.addresses,
      connections: this.connectionManager.listConnections().map(({ connection: c }) => ({
        nodeId: identity.encodeNodeId(c.remoteNodeId),
        connectionId: c.id,
        initiator: c.initiator,
        path: this.pathOf(c),
        ...(isRelayed(c)
          ? {
              relay: identity.encodeNodeId((c as unknown as { relay: NodeId }).relay),
              circuit:
                (c as { circuit?: string }).circuit === 'datagram'
                  ? ('datagram' as const)
                  : ('stream' as const),
            }
          : {}),
        localAddress: addressUtils.formatAddress(c.localAddress),
        remoteAddress: addressUtils.formatAddress(c.remoteAddress),
      })),
      knownNodes,
      nat: {
        ipv4: this.natDetector.classification('ipv4'),
        ipv6: this.natDetector.classification('ipv6'),
      },
      relays: this.relay?.named() ?? [],
      ...(this.relay != null ? { relayService: this.relayServiceStatus() } : {}),
      ...(this.portMapping != null
        ? {
            portMapping: {
              addresses: this.portMapping.addresses().map(addressUtils.formatAddress),
            },
          }
        : {}),
      ...(this.mdns != null ? { mdns: { running: this.mdns.mdns != null } } : {}),
      ...(this.httpRelay != null ? { httpRelay: { active: this.httpRelay.active } } : {}),
      auditCounts: {
        memory: this.auditLog.length,
        ...(this.auditStore != null ? { stored: this.auditStore.stats().stored } : {}),
        byKind: this.metrics.auditCounts(),
      },
      ...(this.metricsUrl != null ? { metricsUrl: this.metricsUrl } : {}),
      audit: [...this.auditLog],
    };
  }

  protected relayServiceStatus(): NonNullable<NodeNetworkStatus['relayService']> {
    const r = this.relay!.service.status();
    return { circuits: r.circuits.length, relayed: r.relayed, refused: r.refused, bytes: r.bytes };
  }

  /**
   * The whole picture, for `node-network status --json`: `status()` plus
   * what needs a read (the NodeGraph's size).
   */
  public async fullStatus(): Promise<NodeNetworkFullStatus> {
    return {
      ...this.status(),
      ...(this.discovery != null ? { nodeGraph: { size: await this.discovery.graph.size() } } : {}),
    };
  }

  /**
   * Why we are or are not connected to `nodeId`, and how we got there: the
   * live connection (path, address, since when), every attempt from the
   * audit log (direct dials per address, signals and their hops, punches,
   * relay circuits, refusals with reasons), both sides' NAT when known,
   * and the NodeGraph's contact; `text` says it in a few lines. Reads the
   * persisted audit log when there is one (its index by peer), else the
   * in-memory ring. `limit`: the newest records to read (default 500).
   */
  @ready(new errors.ErrorNodeNetworkNotRunning())
  public async explain(
    nodeId: NodeId | string,
    { limit = 500 }: { limit?: number } = {},
  ): Promise<Explanation> {
    const id = typeof nodeId === 'string' ? identity.decodeNodeId(nodeId) : nodeId;
    const text = identity.encodeNodeId(id);
    const status = this.status();
    const connection = status.connections.find((c) => c.nodeId === text);
    return explainPeer({
      nodeId: text,
      records: await this.queryAudit({ nodeId: text, limit }),
      connection:
        connection != null
          ? { ...connection, since: this.connectionSince.get(connection.connectionId) }
          : undefined,
      knownAddresses: this.addressesOf(id),
      nat: status.nat,
      contact:
        this.discovery != null ? ((await this.discovery.graph.getContact(id)) ?? null) : undefined,
    });
  }

  /** Audit records matching `q` (the persisted log when there is one, else the ring), oldest first. */
  public async queryAudit(q: AuditQuery = {}): Promise<Array<AuditRecord>> {
    return this.auditStore != null ? this.auditStore.query(q) : queryAuditRecords(this.auditLog, q);
  }

  /** This node's view for the dashboard: itself, its peers by path, the relays it uses, recent events. */
  public async snapshot(): Promise<NetworkSnapshot> {
    return nodeSnapshot({
      status: await this.fullStatus(),
      time: this.clock.wallTime(),
      servesRelay: this.relay != null,
    });
  }

  /** The metrics, in the Prometheus text format. */
  public async metricsText(): Promise<string> {
    const s = await this.fullStatus();
    const connectionsByPath: Record<string, number> = {};
    for (const c of s.connections) connectionsByPath[c.path] = (connectionsByPath[c.path] ?? 0) + 1;
    return formatExposition(
      this.metrics.families({
        nodeId: s.nodeId,
        network: s.network,
        connectionsByPath,
        knownNodes: Object.keys(s.knownNodes).length,
        nodeGraphContacts: s.nodeGraph?.size,
        relayService: s.relayService,
        relaysNamed: s.relays.length,
        auditStored: s.auditCounts.stored,
        auditInMemory: s.auditCounts.memory,
        nat: (['ipv4', 'ipv6'] as const).map((family) => ({
          family,
          kind: natKind(s.nat[family]),
          mapping: s.nat[family].mapping,
          filtering: s.nat[family].filtering,
          allocation: s.nat[family].allocation,
        })),
        portMappings: s.portMapping?.addresses.length ?? 0,
        mdns: s.mdns?.running,
        httpRelayActive: s.httpRelay?.active,
      }),
    );
  }

  /** Where the metrics are served (with `metrics`, while running). */
  public get metricsUrl(): string | undefined {
    return this.metricsServer != null ? `${this.metricsServer.url}/metrics` : undefined;
  }

  protected recordAudit(record: AuditRecord): void {
    this.auditLog.push(record);
    if (this.auditLog.length > this.auditLimit) this.auditLog.shift();
    this.auditStore?.append(record);
    this.metrics.observe(record);
    if (record.connectionId != null) {
      if (record.kind === 'connection-open') {
        if (!this.connectionSince.has(record.connectionId)) {
          this.connectionSince.set(record.connectionId, record.time);
        }
      } else if (record.kind === 'connection-close') {
        this.connectionSince.delete(record.connectionId);
      }
    }
    this.logger.debug(`audit ${JSON.stringify(record)}`);
    this.dispatchEvent(new events.EventNodeNetworkAudit({ detail: record }));
  }
}

/** Whether a direct dial's failure leaves signalling worth trying (unreachable, not refused). */
function worthSignalling(e: unknown): boolean {
  return !(
    e instanceof baseErrors.ErrorCancelled ||
    e instanceof baseErrors.ErrorConnectionPeerRejected ||
    e instanceof baseErrors.ErrorConnectionRejectedByPeer ||
    e instanceof baseErrors.ErrorConnectionNodeIdMismatch
  );
}

export default NodeNetwork;
export type { NodeNetworkOptions };
