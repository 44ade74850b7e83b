import type { Address, Clock, NodeId } from '@node-network/network-interface';
import type { NetworkId } from '@node-network/network-identity';
import type { AuditRecord, NodeConnectionManager } from '@node-network/transport';
import type { MdnsPeer } from '@node-network/discovery';
import type NodeDiscovery from './NodeDiscovery.js';
import Logger from '@matrixai/logger';
import { MdnsDiscovery, events as discoveryEvents } from '@node-network/discovery';
import { addresses as addressUtils } from '@node-network/transport';

type NodeMdnsConfig = {
  /** 'auto' (default): through the OS's avahi-daemon when it runs, else our own responder. */
  backend: 'auto' | 'avahi' | 'responder';
  /** Browse only: find others without advertising ourselves. */
  browseOnly: boolean;
  /** Limit of the authenticated dial to a peer mDNS reported, ms. */
  dialTimeoutTime: number;
  /** Passed to the discovery's own responder (interfaces, query budget). */
  responder?: ConstructorParameters<typeof MdnsDiscovery>[0]['responder'];
};

const nodeMdnsConfigDefault: NodeMdnsConfig = {
  backend: 'auto',
  browseOnly: false,
  dialTimeoutTime: 5_000,
};

/**
 * The facade's local-network discovery: advertises this node by mDNS
 * (NodeId, network, QUIC ports) and dials every peer of our network that
 * mDNS reports, authenticated (the dial proves its NodeId and network);
 * only then does the peer enter the NodeGraph, with source `mdns` and
 * scope `local`. Another network's services never reach a dial
 * (`MdnsDiscovery` ignores them); every step is an audit record.
 */
class NodeMdns {
  public readonly config: NodeMdnsConfig;
  public mdns?: MdnsDiscovery;
  protected nodeId: NodeId;
  protected network: NetworkId;
  protected clock: Clock;
  protected manager: NodeConnectionManager;
  protected discovery?: NodeDiscovery;
  protected audit: (r: Omit<AuditRecord, 'time'>) => void;
  protected logger: Logger;
  protected dialling = new Set<string>();
  /** A newer report of a peer that came while we dialled it: tried after, if that dial failed. */
  protected newer = new Map<string, MdnsPeer>();
  /** The address families we have QUIC sockets for. */
  protected families = new Set<string>();

  public constructor({
    nodeId,
    network,
    clock,
    manager,
    discovery,
    audit,
    config = {},
    logger,
  }: {
    nodeId: NodeId;
    network: NetworkId;
    clock: Clock;
    manager: NodeConnectionManager;
    discovery?: NodeDiscovery;
    audit: (r: Omit<AuditRecord, 'time'>) => void;
    config?: Partial<NodeMdnsConfig>;
    logger?: Logger;
  }) {
    this.nodeId = nodeId;
    this.network = network;
    this.clock = clock;
    this.manager = manager;
    this.discovery = discovery;
    this.audit = audit;
    this.config = { ...nodeMdnsConfigDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
  }

  /** Starts advertising and browsing for the QUIC sockets at `localAddresses`. */
  public async start(localAddresses: ReadonlyArray<Address>): Promise<void> {
    const v4 = localAddresses.find((a) => a.family === 'ipv4');
    const v6 = localAddresses.find((a) => a.family === 'ipv6');
    const port = (v4 ?? v6)?.port;
    this.families = new Set(localAddresses.map((a) => a.family));
    if (port == null) throw new Error('mDNS needs a bound QUIC socket');
    const mdns = new MdnsDiscovery({
      nodeId: this.nodeId,
      networkId: this.network,
      port,
      ipv6Port: v6 != null && v6.port !== port ? v6.port : undefined,
      clock: this.clock,
      backend: this.config.backend,
      browseOnly: this.config.browseOnly,
      responder: this.config.responder,
      logger: this.logger.getChild('MdnsDiscovery'),
    });
    mdns.addEventListener(discoveryEvents.EventMdnsPeer.name, (evt) => {
      void this.onPeer((evt as discoveryEvents.EventMdnsPeer).detail);
    });
    mdns.addEventListener(discoveryEvents.EventMdnsPeerIgnored.name, (evt) => {
      const d = (evt as discoveryEvents.EventMdnsPeerIgnored).detail;
      this.audit({
        kind: 'mdns',
        nodeId: d.nodeIdEncoded,
        outcome: 'failed',
        detail: `ignored ${d.instance}: ${d.reason}${d.networkId != null ? ` (network ${d.networkId})` : ''}: ${d.detail}`,
      });
    });
    mdns.addEventListener(discoveryEvents.EventMdnsError.name, (evt) => {
      const e = (evt as discoveryEvents.EventMdnsError).detail;
      this.logger.warn(`mDNS: ${e.message}`);
    });
    const t0 = this.clock.now();
    await mdns.start();
    this.mdns = mdns;
    this.audit({
      kind: 'mdns',
      outcome: 'ok',
      durationMs: this.clock.now() - t0,
      detail: `advertising ${this.config.browseOnly ? 'off' : `port ${port}`} and browsing through ${mdns.backendKind}`,
    });
  }

  public async stop(): Promise<void> {
    await this.mdns?.stop();
    this.mdns = undefined;
  }

  /** A peer of our network on the link: dial it authenticated, then remember it. */
  protected async onPeer(peer: MdnsPeer): Promise<void> {
    const k = peer.nodeIdEncoded;
    if (this.dialling.has(k)) {
      this.newer.set(k, peer);
      return;
    }
    // Zoned (link-local) addresses cannot be dialled by our transport, nor a family we have no
    // socket for; avahi may report one family first and the other a moment later (a new report).
    const addresses = peer.addresses
      .filter((a) => a.zone == null && this.families.has(a.family))
      .flatMap((a) => addressUtils.tryParseAddress(addressUtils.formatAddress(a)) ?? []);
    if (addresses.length === 0) {
      this.audit({
        kind: 'mdns',
        nodeId: k,
        outcome: 'failed',
        detail: `found ${k} at ${peer.addresses.map((a) => addressUtils.formatAddress(a)).join(', ')}: none is routable and of a family we have a socket for (yet)`,
      });
      return;
    }
    this.dialling.add(k);
    const t0 = this.clock.now();
    try {
      const nc =
        this.manager.getConnection(peer.nodeId) ??
        (await this.manager.connect(peer.nodeId, addresses, {
          timer: this.config.dialTimeoutTime,
        }));
      await this.discovery?.remember(peer.nodeId, nc.connection.remoteAddress, 'mdns', 'direct', {
        scope: 'local',
      });
      this.audit({
        kind: 'mdns',
        nodeId: k,
        outcome: 'ok',
        address: addressUtils.formatAddress(nc.connection.remoteAddress),
        durationMs: this.clock.now() - t0,
        detail: `found ${k} on the local network by ${peer.backend} and connected`,
      });
    } catch (e) {
      this.audit({
        kind: 'mdns',
        nodeId: k,
        outcome: 'failed',
        error: { name: (e as Error).name, message: (e as Error).message },
        detail: `found ${k} on the local network but the authenticated dial failed`,
      });
    } finally {
      this.dialling.delete(k);
      const next = this.newer.get(k);
      this.newer.delete(k);
      if (next != null && this.mdns != null && this.manager.getConnection(peer.nodeId) == null) {
        void this.onPeer(next);
      }
    }
  }
}

export default NodeMdns;
export { nodeMdnsConfigDefault };
export type { NodeMdnsConfig };
