import type { Address, Clock, NodeId, Stream } from '@node-network/network-interface';
import type { AuditRecord, NodeConnectionManager } from '@node-network/transport';
import type { TunnelIdentity } from '@node-network/relay';
import type { ProxyEnv } from '@node-network/http-relay';
import Logger from '@matrixai/logger';
import { connectionPath, isWebSocket } from '@node-network/transport';
import * as identity from '@node-network/network-identity';
import { HttpRelayServer, connectHttpRelay, openWebSocket } from '@node-network/http-relay';

type NodeHttpRelayConfig = {
  /** Serve a WebSocket relay endpoint here (public nodes). */
  listen?: { host: string; port: number };
  /** Relays to reach the network through when UDP is blocked: `nodeId@ws://host:port`. */
  relays: Array<string>;
  /** An http:// proxy, or null for none; default HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  proxy?: string | null;
  env?: ProxyEnv;
  /** `auto`: use the relays when no peer answers over UDP; `always`: from the start. */
  mode: 'auto' | 'always';
  /** While on HTTP relays, try UDP again (and keep the relay connections in use) this often, ms. */
  udpProbeInterval: number;
  /** Limit of one connection to a relay (proxy, WebSocket, handshake), ms. */
  connectTimeoutTime: number;
  /** An RPC ping to each relay this often, ms (under the relay's idle timeout, 120 s by default). */
  keepInUseInterval: number;
  /** Opens the byte stream to a relay (default: a WebSocket; the simulator passes an in-memory one). */
  open?: typeof openWebSocket;
};

const nodeHttpRelayConfigDefault: NodeHttpRelayConfig = {
  relays: [],
  mode: 'auto',
  udpProbeInterval: 60_000,
  connectTimeoutTime: 15_000,
  keepInUseInterval: 30_000,
};

/**
 * The facade's HTTP relaying. A public node serves a WebSocket endpoint; a
 * node whose UDP is blocked (no peer answers over UDP) connects to its
 * configured HTTP relays over WebSocket, through the HTTP proxy if one is
 * set, and keeps those connections in use, reconnecting with backoff. It
 * keeps probing UDP (through `udpWorks`) and, once UDP works again, lets
 * the WebSocket connections go idle. Every step is a `relay` audit record.
 */
class NodeHttpRelay {
  public readonly config: NodeHttpRelayConfig;
  public readonly server: HttpRelayServer;
  protected nodeId: NodeId;
  protected clock: Clock;
  protected manager: NodeConnectionManager;
  protected tunnelIdentity: TunnelIdentity;
  protected udpWorks: () => Promise<boolean>;
  protected audit: (r: Omit<AuditRecord, 'time'>) => void;
  protected logger: Logger;
  protected engaged = false;
  protected stopped = false;
  protected timers = new Set<{ cancel(): void }>();

  public constructor({
    nodeId,
    clock,
    manager,
    tunnelIdentity,
    udpWorks,
    audit,
    config = {},
    logger,
  }: {
    nodeId: NodeId;
    clock: Clock;
    manager: NodeConnectionManager;
    tunnelIdentity: TunnelIdentity;
    udpWorks: () => Promise<boolean>;
    audit: (r: Omit<AuditRecord, 'time'>) => void;
    config?: Partial<NodeHttpRelayConfig>;
    logger?: Logger;
  }) {
    this.nodeId = nodeId;
    this.clock = clock;
    this.manager = manager;
    this.tunnelIdentity = tunnelIdentity;
    this.udpWorks = udpWorks;
    this.audit = audit;
    this.config = { ...nodeHttpRelayConfigDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
    this.server = new HttpRelayServer({
      localNodeId: nodeId,
      tunnelIdentity,
      clock,
      onConnection: (c) => {
        this.manager.adoptDialled(c, 'http-relay', 'inbound');
        this.audit({
          kind: 'relay',
          nodeId: identity.encodeNodeId(c.remoteNodeId),
          outcome: 'ok',
          path: 'http-relay',
          direction: 'inbound',
          connectionId: c.id,
          detail: `HTTP relay: ${identity.encodeNodeId(c.remoteNodeId)} connected over WebSocket from ${c.remoteAddress.host}`,
        });
      },
      logger: this.logger.getChild('HttpRelayServer'),
    });
  }

  public async start(): Promise<void> {
    this.stopped = false;
    if (this.config.listen != null) await this.server.start(this.config.listen);
    if (this.config.mode === 'always' && this.config.relays.length > 0)
      void this.engage('configured');
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    await this.server.stop();
  }

  /** The simulator's TCP: a stream from a client, as if it came over a WebSocket. */
  public acceptStream(stream: Stream, addresses: { local: Address; remote: Address }) {
    return this.server.acceptStream(stream, addresses);
  }

  /** Whether we reach the network through HTTP relays now. */
  public get active(): boolean {
    return this.engaged;
  }

  /**
   * After bootstrapping: with relays configured and no live connection over
   * UDP (no peer answered), UDP is blocked: use the HTTP relays.
   */
  public async check(): Promise<void> {
    if (this.engaged || this.config.relays.length === 0) return;
    const udp = this.manager
      .listConnections()
      .some((nc) => connectionPath(nc.connection) === 'direct');
    if (!udp) await this.engage('no peer answered over UDP');
  }

  protected async engage(why: string): Promise<void> {
    if (this.engaged || this.stopped) return;
    this.engaged = true;
    this.audit({
      kind: 'relay',
      outcome: 'ok',
      path: 'http-relay',
      detail: `UDP looks blocked (${why}): reaching the network through HTTP relays ${this.config.relays.join(', ')}`,
    });
    await Promise.all(this.config.relays.map((r) => this.hold(r, 0)));
    this.every(this.config.udpProbeInterval, () => this.probe());
    // A ping now and then: the relay's side counts it as use and keeps our lifeline open.
    this.every(this.config.keepInUseInterval, async () => {
      if (!this.engaged) return false;
      for (const nc of this.manager.listConnections()) {
        if (isWebSocket(nc.connection) && nc.connection.initiator === 'local') {
          void this.manager.ping(nc.connection.remoteNodeId, { timer: 10_000 }).catch(() => {});
        }
      }
      return true;
    });
  }

  /** Connects to relay `entry` (`nodeId@url`) and reconnects with backoff while engaged. */
  protected async hold(entry: string, failures: number): Promise<void> {
    if (!this.engaged || this.stopped) return;
    const at = entry.indexOf('@');
    const nodeIdText = entry.slice(0, at);
    const url = entry.slice(at + 1);
    try {
      const relayId = identity.decodeNodeId(nodeIdText);
      const existing = this.manager.getConnection(relayId);
      if (existing != null && isWebSocket(existing.connection)) return;
      const c = await connectHttpRelay({
        url,
        expected: relayId,
        localNodeId: this.nodeId,
        tunnelIdentity: this.tunnelIdentity,
        clock: this.clock,
        proxy: this.config.proxy,
        env: this.config.env,
        timer: this.config.connectTimeoutTime,
        open: this.config.open,
      });
      this.manager.adoptDialled(c, 'http-relay');
      this.audit({
        kind: 'relay',
        nodeId: nodeIdText,
        outcome: 'ok',
        path: 'http-relay',
        connectionId: c.id,
        detail: `connected to HTTP relay ${url} over WebSocket${this.config.proxy != null ? ` through proxy ${this.config.proxy}` : ''}`,
      });
      c.onClose((reason) => {
        if (!this.engaged || this.stopped) return;
        this.audit({
          kind: 'relay',
          nodeId: nodeIdText,
          outcome: 'failed',
          error: reason != null ? { name: reason.name, message: reason.message } : undefined,
          detail: `HTTP relay ${url} connection closed; reconnecting`,
        });
        this.after(1_000, () => void this.hold(entry, 0));
      });
    } catch (e) {
      const wait = Math.min(60_000, 1_000 * 2 ** failures);
      this.audit({
        kind: 'relay',
        nodeId: nodeIdText,
        outcome: 'failed',
        error: { name: (e as Error).name, message: (e as Error).message },
        detail: `could not reach HTTP relay ${url}; retrying in ${wait} ms`,
      });
      this.after(wait, () => void this.hold(entry, failures + 1));
    }
  }

  /** Moves back once UDP answers again (the keep-in-use pings hold the relay connections). */
  protected async probe(): Promise<boolean> {
    if (!this.engaged) return false;
    const works = await this.udpWorks().catch(() => false);
    if (works) {
      this.engaged = false;
      this.audit({
        kind: 'relay',
        outcome: 'ok',
        detail:
          'UDP works again: new connections go over UDP; the HTTP relay connections close once idle',
      });
      return false;
    }
    return true;
  }

  protected after(ms: number, f: () => void): void {
    const t = this.clock.setTimer(ms, () => {
      this.timers.delete(t);
      if (!this.stopped) f();
    });
    this.timers.add(t);
  }

  protected every(ms: number, f: () => Promise<boolean>): void {
    this.after(ms, () => {
      void f().then((again) => {
        if (again) this.every(ms, f);
      });
    });
  }
}

export default NodeHttpRelay;
export { nodeHttpRelayConfigDefault };
export type { NodeHttpRelayConfig };
