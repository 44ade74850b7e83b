import type { Address, Clock, NodeId, Stream } from '@node-network/network-interface';
import type { MuxConfig, TunnelIdentity } from '@node-network/relay';
import type { IncomingMessage } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import Logger from '@matrixai/logger';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import * as identity from '@node-network/network-identity';
import { RelayedConnection, openTunnel } from '@node-network/relay';
import { keepAlive, relayPath } from './HttpRelayClient.js';
import { socketAddresses, webSocketStream } from './webSocketStream.js';

type HttpRelayServerConfig = {
  /** WebSocket connections at once, all clients together. */
  maxConnections: number;
  /** WebSocket connections at once from one IP (a proxy counts as one). */
  maxConnectionsPerIp: number;
  /** Limit of the end-to-end handshake after the upgrade, ms. */
  handshakeTimeoutTime: number;
  /** Largest WebSocket message accepted, bytes. */
  maxPayload: number;
};

const httpRelayServerConfigDefault: HttpRelayServerConfig = {
  maxConnections: 256,
  maxConnectionsPerIp: 16,
  handshakeTimeoutTime: 10_000,
  maxPayload: 1024 * 1024,
};

/**
 * A relay's WebSocket endpoint on TCP, for nodes whose networks block UDP.
 * Each WebSocket carries the same end-to-end TLS 1.3 tunnel and stream mux
 * as a relay circuit; once the client proved its NodeId (and network
 * membership) the connection is handed to `onConnection` as a
 * `Connection` (`path: 'websocket'`), where RPC, signalling and relay
 * circuits run as on QUIC. Quotas: connections in all and per IP; messages
 * over `maxPayload` close the socket. Every refusal is logged.
 */
class HttpRelayServer {
  public readonly config: HttpRelayServerConfig;
  protected server?: http.Server;
  protected wss?: WebSocketServer;
  protected perIp = new Map<string, number>();
  protected open = new Set<WebSocket>();
  protected localNodeId: NodeId;
  protected tunnelIdentity: TunnelIdentity;
  protected clock: Clock;
  protected mux?: Partial<MuxConfig>;
  protected onConnection: (c: RelayedConnection) => void;
  protected logger: Logger;

  public constructor({
    localNodeId,
    tunnelIdentity,
    clock,
    onConnection,
    mux,
    config = {},
    logger,
  }: {
    localNodeId: NodeId;
    tunnelIdentity: TunnelIdentity;
    clock: Clock;
    onConnection: (c: RelayedConnection) => void;
    mux?: Partial<MuxConfig>;
    config?: Partial<HttpRelayServerConfig>;
    logger?: Logger;
  }) {
    this.localNodeId = localNodeId;
    this.tunnelIdentity = tunnelIdentity;
    this.clock = clock;
    this.onConnection = onConnection;
    this.mux = mux;
    this.config = { ...httpRelayServerConfigDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
  }

  /** The port it listens on (after `start`). */
  public get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a != null ? a.port : 0;
  }

  /**
   * Listens on `host:port`; with `tls` (a web certificate and its key, PEM)
   * the endpoint is `wss://`, for networks whose proxies pass only TLS.
   */
  public async start({
    host = '0.0.0.0',
    port = 0,
    tls,
  }: { host?: string; port?: number; tls?: { key: string; cert: string } } = {}) {
    const onRequest = (_req: IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required\n');
    };
    const server: http.Server =
      tls != null
        ? https.createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, onRequest)
        : http.createServer(onRequest);
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.config.maxPayload,
      perMessageDeflate: false,
    });
    server.on('upgrade', (req: IncomingMessage, socket, head) => {
      const ip = req.socket.remoteAddress ?? '?';
      const refuse = (status: number, why: string) => {
        this.logger.info(`Refused a WebSocket from ${ip}: ${why}`);
        socket.end(`HTTP/1.1 ${status} ${why}\r\nconnection: close\r\n\r\n`);
      };
      if (req.url !== relayPath) return refuse(404, 'Not Found');
      if (this.open.size >= this.config.maxConnections) return refuse(503, 'Relay Full');
      if ((this.perIp.get(ip) ?? 0) >= this.config.maxConnectionsPerIp) {
        return refuse(429, 'Too Many Connections');
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, ip));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.wss = wss;
  }

  public async stop(): Promise<void> {
    for (const ws of this.open) ws.terminate();
    this.open.clear();
    this.wss?.close();
    await new Promise<void>((resolve) => {
      if (this.server == null) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.server = undefined;
  }

  protected accept(ws: WebSocket, ip: string): void {
    this.open.add(ws);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    ws.on('error', () => {}); // the stream sees it
    ws.once('close', () => {
      this.open.delete(ws);
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    });
    const addresses = socketAddresses(ws);
    void this.acceptStream(webSocketStream(ws), addresses).then(
      () => keepAlive(ws, this.clock),
      () => ws.terminate(),
    );
  }

  /**
   * Runs the server side of the tunnel over `stream` (a WebSocket's, or an
   * in-memory one in the simulator) and hands the connection to
   * `onConnection` once the client proved its NodeId.
   */
  public async acceptStream(
    stream: Stream,
    addresses: { local: Address; remote: Address },
  ): Promise<RelayedConnection> {
    const ip = addresses.remote.host;
    const abort = new AbortController();
    const timer = this.clock.setTimer(this.config.handshakeTimeoutTime, () =>
      abort.abort(new Error('handshake timed out')),
    );
    try {
      const { socket, peer } = await openTunnel({
        stream,
        role: 'server',
        tunnelIdentity: this.tunnelIdentity,
        signal: abort.signal,
      });
      const c = new RelayedConnection({
        socket,
        localNodeId: this.localNodeId,
        remoteNodeId: peer.nodeId,
        relay: this.localNodeId,
        localAddress: addresses.local,
        remoteAddress: addresses.remote,
        initiator: 'remote',
        clock: this.clock,
        config: this.mux,
        path: 'websocket',
      });
      this.logger.info(`WebSocket from ${ip} is ${identity.encodeNodeId(peer.nodeId)}`);
      this.onConnection(c);
      return c;
    } catch (e) {
      stream.cancel(e);
      this.logger.info(`WebSocket from ${ip} failed the handshake: ${(e as Error).message}`);
      throw e;
    } finally {
      timer.cancel();
    }
  }
}

export default HttpRelayServer;
export { httpRelayServerConfigDefault };
export type { HttpRelayServerConfig };
