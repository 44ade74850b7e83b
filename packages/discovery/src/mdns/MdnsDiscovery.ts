import type { AddressFamily, Clock, NodeId, NodeIdEncoded } from '@node-network/network-interface';
import type { NetworkId } from '@node-network/network-identity';
import type {
  BackendAdvert,
  InterfaceLister,
  MdnsBackend,
  MulticastSocketFactory,
  ProcessSpawner,
} from './types.js';
import type { AvahiCommands } from './AvahiBackend.js';
import type { QueryScheduleConfig } from './protocol/QuerySchedule.js';
import type { ServiceSighting } from './protocol/serviceRecords.js';
import Logger from '@matrixai/logger';
import { StartStop, ready } from '@matrixai/async-init/StartStop.js';
import * as identity from '@node-network/network-identity';
import AvahiBackend from './AvahiBackend.js';
import ResponderBackend from './ResponderBackend.js';
import openDgramMulticastSocket from './DgramMulticastSocket.js';
import osInterfaces from './osInterfaces.js';
import spawnProcess from './childProcess.js';
import * as events from '../events.js';
import * as errors from '../errors.js';

/** An address a peer advertised; link-local IPv6 ones need `zone` (our interface) to be dialled. */
type MdnsPeerAddress = { host: string; port: number; family: AddressFamily; zone?: string };

/** A candidate peer of our network seen on the local link. */
type MdnsPeer = {
  nodeId: NodeId;
  nodeIdEncoded: NodeIdEncoded;
  networkId: NetworkId;
  /** Routable addresses first (IPv4, then global IPv6), link-local last. */
  addresses: Array<MdnsPeerAddress>;
  /** Which backend saw it. */
  backend: 'avahi' | 'responder';
  /** Our clock's `now()` when first seen. */
  firstSeenAt: number;
};

type MdnsBackendChoice = 'auto' | 'avahi' | 'responder';

/** TXT keys (RFC 6763 6: short keys, a version key first). */
const txtKeys = { version: 'txtvers', nodeId: 'id', network: 'net', ipv6Port: 'port6' } as const;

interface MdnsDiscovery extends StartStop {}
/**
 * Local-network discovery by mDNS / DNS-SD: advertises this node (service
 * `_node-network._udp`, instance = NodeId text, SRV port = the QUIC port,
 * TXT `id`, `net`) and browses for others, with no seed. Where the OS runs
 * avahi-daemon it goes through avahi (`backend: 'auto'` checks over
 * D-Bus), so the host keeps one responder and `avahi-browse` lists us;
 * otherwise it runs its own RFC 6762 responder on 5353 (bound to the group
 * so it never takes the OS's unicast traffic). Services of another network
 * and malformed ones are never reported as peers (`EventMdnsPeerIgnored`
 * says why); our own is skipped. A reported peer is a candidate: the caller
 * dials it authenticated before trusting it.
 */
@StartStop({
  eventStart: events.EventMdnsDiscoveryStart,
  eventStarted: events.EventMdnsDiscoveryStarted,
  eventStop: events.EventMdnsDiscoveryStop,
  eventStopped: events.EventMdnsDiscoveryStopped,
})
class MdnsDiscovery {
  public readonly nodeId: NodeId;
  public readonly nodeIdEncoded: NodeIdEncoded;
  public readonly networkId: NetworkId;
  protected port: number;
  protected ipv6Port: number | undefined;
  protected advertise: boolean;
  protected choice: MdnsBackendChoice;
  protected clock: Clock;
  protected logger: Logger;
  protected backend: MdnsBackend | undefined;
  protected _peers = new Map<string, { peer: MdnsPeer; key: string; instance: string }>();
  protected ignored = new Set<string>();
  protected opts: ConstructorParameters<typeof MdnsDiscovery>[0];

  public constructor(opts: {
    nodeId: NodeId;
    networkId: NetworkId;
    /** The port to advertise (the node's QUIC port; its IPv4 socket's when they differ). */
    port: number;
    /** The IPv6 QUIC socket's port, when it differs from `port` (sent as TXT `port6`). */
    ipv6Port?: number;
    clock: Clock;
    /** 'auto' (default): avahi when its daemon answers, else our own responder. */
    backend?: MdnsBackendChoice;
    /** Browse only (default false: advertise too). */
    browseOnly?: boolean;
    responder?: {
      families?: Array<AddressFamily>;
      interfaceNames?: Array<string>;
      maxQueriesPerMinute?: number;
      schedule?: Partial<QueryScheduleConfig>;
      openSocket?: MulticastSocketFactory;
      interfaces?: InterfaceLister;
      random?: () => number;
    };
    avahi?: {
      spawn?: ProcessSpawner;
      commands?: Partial<AvahiCommands>;
      publishTimeoutTime?: number;
    };
    logger?: Logger;
  }) {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new errors.ErrorMdnsAdvertInvalid(`Port must be 1-65535, got ${opts.port}`);
    }
    this.opts = opts;
    this.nodeId = opts.nodeId;
    this.nodeIdEncoded = identity.encodeNodeId(opts.nodeId);
    this.networkId = identity.parseNetworkId(opts.networkId);
    this.port = opts.port;
    this.ipv6Port = opts.ipv6Port;
    this.advertise = opts.browseOnly !== true;
    this.choice = opts.backend ?? 'auto';
    this.clock = opts.clock;
    this.logger = opts.logger ?? new Logger(this.constructor.name);
  }

  /** The backend in use ('avahi' or 'responder'), once started. */
  @ready(new errors.ErrorMdnsNotRunning())
  public get backendKind(): 'avahi' | 'responder' {
    return this.backend!.kind;
  }

  /** Peers of our network seen now. */
  @ready(new errors.ErrorMdnsNotRunning())
  public peers(): Array<MdnsPeer> {
    return [...this._peers.values()].map((p) => p.peer);
  }

  /** Counters of the backend (queries sent, known answers, suppressions, ...). */
  @ready(new errors.ErrorMdnsNotRunning())
  public stats(): Record<string, number> {
    return this.backend!.stats();
  }

  /**
   * Chooses the backend and starts advertising and browsing. Rejects with
   * `ErrorMdnsBackendUnavailable` when the chosen backend cannot run
   * (`auto` falls back from avahi to our own responder first).
   */
  public async start(): Promise<void> {
    const txt: Record<string, string> = {
      [txtKeys.version]: '1',
      [txtKeys.nodeId]: this.nodeIdEncoded,
      [txtKeys.network]: this.networkId,
    };
    if (this.ipv6Port != null && this.ipv6Port !== this.port) {
      txt[txtKeys.ipv6Port] = String(this.ipv6Port);
    }
    const advert: BackendAdvert | undefined = this.advertise
      ? { instance: this.nodeIdEncoded, port: this.port, txt }
      : undefined;
    const spawn = this.opts.avahi?.spawn ?? spawnProcess;
    let useAvahi = this.choice === 'avahi';
    if (this.choice === 'auto') {
      const can = await AvahiBackend.available(spawn, this.clock, this.opts.avahi?.commands);
      useAvahi = can.ok;
      if (!can.ok)
        this.logger.info(`No avahi-daemon (${can.reason}): using our own mDNS responder`);
    }
    if (useAvahi) {
      const avahi = new AvahiBackend({
        spawn,
        clock: this.clock,
        commands: this.opts.avahi?.commands,
        publishTimeoutTime: this.opts.avahi?.publishTimeoutTime,
        logger: this.logger.getChild('avahi'),
      });
      try {
        await avahi.start(advert, this.handlers('avahi'));
        this.backend = avahi;
      } catch (e) {
        if (this.choice === 'avahi') throw e;
        this.logger.warn(`avahi failed (${(e as Error).message}): using our own mDNS responder`);
      }
    }
    if (this.backend == null) {
      const r = this.opts.responder ?? {};
      const responder = new ResponderBackend({
        clock: this.clock,
        openSocket: r.openSocket ?? openDgramMulticastSocket,
        interfaces: r.interfaces ?? osInterfaces,
        random: r.random,
        families: r.families,
        interfaceNames: r.interfaceNames,
        maxQueriesPerMinute: r.maxQueriesPerMinute,
        schedule: r.schedule,
        logger: this.logger.getChild('responder'),
      });
      await responder.start(advert, this.handlers('responder'));
      this.backend = responder;
    }
    this.logger.info(
      `mDNS discovery started (${this.backend.kind}) for ${this.nodeIdEncoded} on ${this.networkId}`,
    );
  }

  /** Withdraws our service (goodbyes with TTL 0) and stops browsing. */
  public async stop(): Promise<void> {
    await this.backend?.stop();
    this.backend = undefined;
    this._peers.clear();
    this.ignored.clear();
  }

  protected handlers(kind: 'avahi' | 'responder') {
    return {
      onFound: (s: ServiceSighting) => this.handleFound(kind, s),
      onLost: (instance: string, reason: 'goodbye' | 'expired' | 'removed') =>
        this.handleLost(instance, reason),
      onError: (e: Error) => {
        this.logger.warn(`mDNS ${kind}: ${e.message}`);
        this.dispatchEvent(new events.EventMdnsError({ detail: e }));
      },
    };
  }

  protected ignore(
    instance: string,
    reason: 'other-network' | 'malformed',
    detail: string,
    extra: { nodeIdEncoded?: string; networkId?: string } = {},
  ): void {
    const key = `${instance}|${reason}|${extra.networkId ?? ''}`;
    if (this.ignored.has(key)) return;
    this.ignored.add(key);
    this.logger.info(`mDNS: not a peer: ${instance}: ${detail}`);
    this.dispatchEvent(
      new events.EventMdnsPeerIgnored({ detail: { instance, reason, detail, ...extra } }),
    );
  }

  protected handleFound(kind: 'avahi' | 'responder', s: ServiceSighting): void {
    const idText = s.txt[txtKeys.nodeId];
    let nodeId: NodeId;
    try {
      nodeId = identity.decodeNodeId(idText);
    } catch (e) {
      return this.ignore(s.instance, 'malformed', `bad NodeId in TXT: ${(e as Error).message}`);
    }
    const nodeIdEncoded = identity.encodeNodeId(nodeId);
    if (nodeIdEncoded === this.nodeIdEncoded) return;
    let networkId: NetworkId;
    try {
      networkId = identity.parseNetworkId(s.txt[txtKeys.network]);
    } catch (e) {
      return this.ignore(s.instance, 'malformed', `bad network id: ${(e as Error).message}`, {
        nodeIdEncoded,
      });
    }
    if (networkId !== this.networkId) {
      return this.ignore(
        s.instance,
        'other-network',
        `network ${networkId}, we are on ${this.networkId}`,
        { nodeIdEncoded, networkId },
      );
    }
    const port6 = Number(s.txt[txtKeys.ipv6Port]);
    const addresses = s.addresses
      .map((a): MdnsPeerAddress => {
        const [host, zone] = a.split('%');
        const family = host.includes(':') ? 'ipv6' : 'ipv4';
        const port =
          family === 'ipv6' && Number.isInteger(port6) && port6 > 0 && port6 < 65536
            ? port6
            : s.port;
        return zone != null ? { host, port, family, zone } : { host, port, family };
      })
      .sort((a, b) => rank(a) - rank(b) || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
    if (addresses.length === 0 || s.port === 0) {
      return this.ignore(s.instance, 'malformed', 'no address or port', { nodeIdEncoded });
    }
    const key = JSON.stringify(addresses);
    const old = this._peers.get(nodeIdEncoded);
    if (old?.key === key) return;
    const peer: MdnsPeer = {
      nodeId,
      nodeIdEncoded,
      networkId,
      addresses,
      backend: kind,
      firstSeenAt: old?.peer.firstSeenAt ?? this.clock.now(),
    };
    this._peers.set(nodeIdEncoded, { peer, key, instance: s.instance });
    this.dispatchEvent(new events.EventMdnsPeer({ detail: { ...peer, firstSeen: old == null } }));
  }

  protected handleLost(instance: string, reason: 'goodbye' | 'expired' | 'removed'): void {
    for (const [id, p] of this._peers) {
      if (p.instance !== instance) continue;
      this._peers.delete(id);
      this.dispatchEvent(
        new events.EventMdnsPeerGone({
          detail: { nodeId: p.peer.nodeId, nodeIdEncoded: p.peer.nodeIdEncoded, reason },
        }),
      );
    }
    for (const k of [...this.ignored]) if (k.startsWith(`${instance}|`)) this.ignored.delete(k);
  }
}

/** IPv4 first, then routable IPv6, then link-local. */
function rank(a: MdnsPeerAddress): number {
  if (a.zone != null || /^fe[89ab]/i.test(a.host)) return 2;
  return a.family === 'ipv4' ? 0 : 1;
}

export default MdnsDiscovery;
export { txtKeys };
export type { MdnsPeer, MdnsPeerAddress, MdnsBackendChoice };
