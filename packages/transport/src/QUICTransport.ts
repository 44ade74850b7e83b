import type {
  Address,
  AddressFamily,
  ConnectionTransport,
  NodeId,
  PunchSockets,
  Unsubscribe,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type {
  KeyPair,
  MembershipClaim,
  NetworkId,
  PeerIdentity,
} from '@node-network/network-identity';
import type { ListenAddress, TransportConfig } from './types.js';
import type { GsoSend, GsoStats } from './gso.js';
import type { DatagramSink, RecvStats } from './recvBatch.js';
import { errors as baseErrors, PunchSocketSet } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { QUICClient, QUICServer, QUICSocket, errors as quicErrors } from '@matrixai/quic';
import Logger from '@matrixai/logger';
import { StartStop, ready } from '@matrixai/async-init/StartStop.js';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import QUICNodeConnection from './QUICNodeConnection.js';
import UDPDatagramPort from './UDPDatagramPort.js';
import * as events from './events.js';
import * as errors from './errors.js';
import { alpn, transportConfigDefault } from './config.js';
import { formatAddress, toAddress } from './addresses.js';
import { errorSummary, findCause } from './utils.js';
import { makeGsoSend } from './gso.js';
import { installRecvBatch } from './recvBatch.js';
import { reasonToCode, codeToReason } from './streamCodes.js';

type Bound = { socket: QUICSocket; server: QUICServer; address: Address };

/** The `node:dgram` socket inside a `QUICSocket` (not public API of @matrixai/quic). */
function dgramOf(socket: QUICSocket): import('node:dgram').Socket | undefined {
  return (socket as unknown as { socket?: import('node:dgram').Socket }).socket;
}

const cryptoError = { badCertificate: 298, accessDenied: 305 } as const;

interface QUICTransport extends StartStop {}
/**
 * `ConnectionTransport` over QUIC (@matrixai/quic) with mutual TLS bound to
 * NodeIds. One QUIC socket per address family serves both the server and
 * every outgoing connection, so peers see one port per family (hole punching
 * depends on it). Both sides verify the other's certificate chain, NodeId and
 * network membership in the handshake; a node of another network never gets
 * a connection.
 */
@StartStop({
  eventStart: events.EventQUICTransportStart,
  eventStarted: events.EventQUICTransportStarted,
  eventStop: events.EventQUICTransportStop,
  eventStopped: events.EventQUICTransportStopped,
})
class QUICTransport implements ConnectionTransport {
  public readonly nodeId: NodeId;
  public readonly keyPair: KeyPair;
  public readonly network: NetworkId;
  public readonly config: TransportConfig;
  protected membershipClaim?: MembershipClaim;
  protected certificateChain?: Array<Uint8Array>;
  protected logger: Logger;
  protected now: () => Date;
  protected bound: Array<Bound> = [];
  protected connections = new Set<QUICNodeConnection>();
  protected connectionHandlers = new Set<(c: QUICNodeConnection) => void>();
  /** Batched-send counters (UDP GSO): batches sent, datagrams in them, batches refused. */
  public readonly gsoStats: GsoStats = { batches: 0, datagrams: 0, refused: 0 };
  /** Datagrams read in batches (`recvmmsg`) beyond the one per wake-up Node's dgram reads. */
  public readonly recvStats: RecvStats = { batches: 0, datagrams: 0 };

  public constructor({
    keyPair,
    network,
    membershipClaim,
    certificateChain,
    config = {},
    now = () => new Date(),
    logger,
  }: {
    keyPair: KeyPair;
    network: NetworkId;
    /** Required to join a private network. */
    membershipClaim?: MembershipClaim;
    /** DER chain, leaf first; made from `keyPair` at start when absent. */
    certificateChain?: Array<Uint8Array>;
    config?: Partial<TransportConfig>;
    /** Wall clock for certificate validity. */
    now?: () => Date;
    logger?: Logger;
  }) {
    this.keyPair = keyPair;
    this.nodeId = identity.nodeIdFromPublicKey(keyPair.publicKey);
    this.network = network;
    this.membershipClaim = membershipClaim;
    this.certificateChain = certificateChain;
    this.config = { ...transportConfigDefault, ...config };
    this.now = now;
    this.logger = logger ?? new Logger(this.constructor.name);
  }

  public async start({ listen }: { listen: Array<ListenAddress> }): Promise<void> {
    this.logger.info(`Starting ${this.constructor.name}`);
    if (this.certificateChain == null) {
      this.certificateChain = [
        await identity.createCertificate({
          subjectKeyPair: this.keyPair,
          network: this.network,
          membershipClaim: this.membershipClaim,
          now: this.now(),
          durationSeconds: this.config.certificateDuration,
        }),
      ];
    }
    const families = new Set<string>();
    try {
      for (const l of listen) {
        const requested = toAddress(l.host, l.port ?? 0);
        if (families.has(requested.family)) {
          throw new errors.ErrorTransportBind(
            `Only one socket per address family: ${l.host} duplicates ${requested.family}`,
          );
        }
        families.add(requested.family);
        this.bound.push(await this.bind(requested));
      }
    } catch (e) {
      await this.unbindAll();
      throw e;
    }
    this.logger.info(
      `Started ${this.constructor.name} on ${this.localAddresses.map(formatAddress).join(', ')}`,
    );
  }

  public async stop(): Promise<void> {
    this.logger.info(`Stopping ${this.constructor.name}`);
    await Promise.all([...this.connections].map((c) => c.close()));
    await this.unbindAll();
    this.connectionHandlers.clear();
    this.logger.info(`Stopped ${this.constructor.name}`);
  }

  public get localAddresses(): ReadonlyArray<Address> {
    return this.bound.map((b) => b.address);
  }

  public get certificateChainDER(): ReadonlyArray<Uint8Array> {
    return this.certificateChain ?? [];
  }

  public onConnection(handler: (c: QUICNodeConnection) => void): Unsubscribe {
    this.connectionHandlers.add(handler);
    return () => {
      this.connectionHandlers.delete(handler);
    };
  }

  /**
   * Sends a punch datagram to `address` from the QUIC socket of its family
   * (the one our connections use, so the NAT mapping it opens is QUIC's).
   * At most 20 bytes: shorter than any QUIC header with our connection ids,
   * so every QUIC socket drops it as "not QUIC".
   */
  @ready(new errors.ErrorTransportNotRunning())
  public async sendPunch(address: Address, payload: Uint8Array): Promise<void> {
    if (payload.byteLength === 0 || payload.byteLength > 20) {
      throw new errors.ErrorTransportPunch(
        `A punch payload is 1 to 20 bytes, got ${payload.byteLength}`,
      );
    }
    const bound = this.bound.find((b) => b.address.family === address.family);
    if (bound == null) {
      throw new errors.ErrorTransportFamilyUnavailable(
        `No ${address.family} socket is bound, cannot punch toward ${formatAddress(address)}`,
      );
    }
    try {
      await bound.socket.send(payload, address.port, address.host);
    } catch (e) {
      throw new errors.ErrorTransportPunch(
        `Punch to ${formatAddress(address)} failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  /**
   * Dials `nodeId` at `address` from the socket of the address's family.
   * The handshake proves the peer holds `nodeId`'s key and belongs to our
   * network; otherwise this rejects with a typed `ErrorConnectionDial`.
   */
  @ready(new errors.ErrorTransportNotRunning())
  public async dial(
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<QUICNodeConnection> {
    return await this.dialFrom(nodeId, address, ctx);
  }

  /**
   * Binds `count` extra UDP sockets of `family` (on the host our QUIC
   * socket of that family is bound to) for birthday punching. Dialling from
   * one closes it and binds a QUIC client socket on the same local port at
   * once, so the connection goes out through the NAT mapping that socket
   * opened; that socket lives and dies with the connection.
   */
  @ready(new errors.ErrorTransportNotRunning())
  public async openPunchSockets(family: AddressFamily, count: number): Promise<PunchSockets> {
    const bound = this.bound.find((b) => b.address.family === family);
    if (bound == null) {
      throw new errors.ErrorTransportFamilyUnavailable(
        `No ${family} socket is bound, cannot open punch sockets`,
      );
    }
    const ports: Array<UDPDatagramPort> = [];
    try {
      for (let i = 0; i < count; i++) {
        ports.push(await UDPDatagramPort.bind({ host: bound.address.host }));
      }
    } catch (e) {
      await Promise.all(ports.map((p) => p.close()));
      throw new errors.ErrorTransportBind(
        `Cannot bind ${count} punch sockets on ${bound.address.host}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return new PunchSocketSet({
      ports,
      dial: async (port, nodeId, address, ctx) => {
        const local = port.localAddress;
        await port.close();
        return await this.dialFrom(nodeId, address, ctx, local);
      },
    });
  }

  /** Dials from our shared socket, or from a client socket of its own bound on `local`. */
  protected async dialFrom(
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput>,
    local?: Address,
  ): Promise<QUICNodeConnection> {
    const target = formatAddress(address);
    const nodeIdText = identity.encodeNodeId(nodeId);
    if (identity.nodeIdEquals(nodeId, this.nodeId)) {
      throw new errors.ErrorDialSelf(`Refusing to dial our own NodeId ${nodeIdText}`);
    }
    const bound = this.bound.find((b) => b.address.family === address.family);
    if (bound == null) {
      throw new errors.ErrorTransportFamilyUnavailable(
        `No ${address.family} socket is bound, cannot dial ${target}`,
      );
    }
    if (ctx.signal?.aborted) {
      throw new baseErrors.ErrorCancelled(`Dial to ${nodeIdText} at ${target} was cancelled`, {
        cause: ctx.signal.reason,
      });
    }
    let rejection: Error | undefined;
    let peer: PeerIdentity | undefined;
    const started = Date.now();
    const timer = typeof ctx.timer === 'number' ? ctx.timer : this.config.connectTimeoutTime;
    let client: QUICClient;
    try {
      client = await QUICClient.createQUICClient(
        {
          host: address.host,
          port: address.port,
          ...(local == null
            ? { socket: bound.socket }
            : { localHost: local.host, localPort: local.port, ipv6Only: local.family === 'ipv6' }),
          crypto: {
            ops: {
              randomBytes: async (data: ArrayBuffer) => {
                randomBytes(data.byteLength).copy(Buffer.from(data));
              },
            },
          },
          config: {
            ...this.quicConfig(),
            verifyCallback: async (certs) => {
              try {
                peer = await this.verifyPeer(certs, nodeId);
                return undefined;
              } catch (e) {
                rejection = e as Error;
                return cryptoError.badCertificate;
              }
            },
          },
          reasonToCode,
          codeToReason,
          logger: this.logger.getChild(`QUICClient ${target}`),
        },
        { timer, signal: ctx.signal },
      );
    } catch (e) {
      throw this.dialError(e, rejection, nodeIdText, target, ctx.signal);
    }
    if (local != null) {
      // A client socket of its own (birthday punching): batched sends there too.
      const own = (client as unknown as { socket?: QUICSocket }).socket;
      if (own != null) {
        this.enableGso(own, local.family);
        this.enableRecvBatch(own, local.family);
      }
    }
    const connection = new QUICNodeConnection({
      localNodeId: this.nodeId,
      remoteNodeId: nodeId,
      initiator: 'local',
      protocol: peer?.protocol ?? 'node-network',
      quicConnection: client.connection,
      destroy: (force) => client.destroy({ isApp: true, errorCode: 0, force }),
    });
    try {
      await this.awaitAccepted(connection, timer - (Date.now() - started), ctx.signal);
    } catch (e) {
      await connection.close().catch(() => {});
      throw this.dialError(e, undefined, nodeIdText, target, ctx.signal);
    }
    this.track(connection);
    return connection;
  }

  /** Waits for the server's accept marker (see `QUICNodeConnection.accepted`). */
  protected awaitAccepted(
    connection: QUICNodeConnection,
    remaining: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => finish(new baseErrors.ErrorCancelled('Dial was cancelled'));
      const t = setTimeout(
        () => finish(new baseErrors.ErrorTimeout('Peer did not accept the connection in time')),
        Math.max(1, remaining),
      );
      const finish = (e?: unknown) => {
        clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        if (e == null) resolve();
        else reject(e);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      connection.accepted.then(() => finish(), finish);
    });
  }

  protected dialError(
    e: unknown,
    rejection: Error | undefined,
    nodeIdText: string,
    target: string,
    signal: AbortSignal | undefined,
  ): Error {
    const where = `${nodeIdText} at ${target}`;
    if (rejection != null) {
      if (rejection instanceof identity.errors.ErrorCertificateNodeIdMismatch) {
        return new baseErrors.ErrorConnectionNodeIdMismatch(
          `${target} is not ${nodeIdText}: ${rejection.message}`,
          { cause: rejection },
        );
      }
      return new baseErrors.ErrorConnectionPeerRejected(`Rejected ${where}: ${rejection.message}`, {
        cause: rejection,
      });
    }
    if (findCause(e, quicErrors.ErrorQUICConnectionPeerTLS) != null) {
      return new baseErrors.ErrorConnectionRejectedByPeer(
        `${where} rejected our certificate (wrong network, missing membership claim, or a NodeId it did not expect)`,
        { cause: e },
      );
    }
    if (signal?.aborted || e instanceof baseErrors.ErrorCancelled) {
      return new baseErrors.ErrorCancelled(`Dial to ${where} was cancelled`, { cause: e });
    }
    if (e instanceof baseErrors.ErrorTimeout) {
      return new baseErrors.ErrorTimeout(`Dial to ${where} timed out: ${e.message}`, { cause: e });
    }
    if (
      findCause(e, quicErrors.ErrorQUICClientCreateTimeout) != null ||
      findCause(e, quicErrors.ErrorQUICConnectionStartTimeout) != null ||
      findCause(e, quicErrors.ErrorQUICConnectionIdleTimeout) != null
    ) {
      return new baseErrors.ErrorTimeout(`Dial to ${where} timed out`, { cause: e });
    }
    return new errors.ErrorDialAddressFailed(
      `Dial to ${where} failed: ${(e as Error)?.message ?? String(e)}`,
      { cause: e },
    );
  }

  protected async bind(requested: Address): Promise<Bound> {
    const socket = new QUICSocket({
      logger: this.logger.getChild(`QUICSocket ${requested.family}`),
    });
    try {
      await socket.start({
        host: requested.host,
        port: requested.port,
        ipv6Only: requested.family === 'ipv6',
      });
    } catch (e) {
      throw new errors.ErrorTransportBind(
        `Cannot bind QUIC socket on ${formatAddress(requested)}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    this.sizeSocketBuffers(socket);
    this.enableGso(socket, requested.family);
    this.enableRecvBatch(socket, requested.family);
    const address = toAddress(socket.host, socket.port);
    const hmacKey = randomBytes(32);
    const server = new QUICServer({
      socket,
      reasonToCode,
      codeToReason,
      crypto: {
        key: hmacKey.buffer.slice(hmacKey.byteOffset, hmacKey.byteOffset + 32),
        ops: {
          sign: async (key, data) => {
            const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
            return mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.byteLength);
          },
          verify: async (key, data, sig) => {
            const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
            const s = Buffer.from(sig);
            return s.byteLength === mac.byteLength && timingSafeEqual(mac, s);
          },
        },
      },
      config: {
        ...this.quicConfig(),
        verifyCallback: async (certs) => {
          try {
            await this.verifyPeer(certs, undefined);
            return undefined;
          } catch (e) {
            this.audit({
              kind: 'inbound-rejected',
              direction: 'inbound',
              nodeId: claimedNodeId(certs),
              error: errorSummary(e),
            });
            this.logger.warn(`Rejected inbound peer: ${(e as Error).message}`);
            return cryptoError.badCertificate;
          }
        },
      },
      minIdleTimeout: this.config.connectTimeoutTime,
      logger: this.logger.getChild(`QUICServer ${requested.family}`),
    });
    server.addEventListener('EventQUICServerConnection', (evt: Event) => {
      void this.acceptConnection((evt as unknown as { detail: any }).detail);
    });
    await server.start();
    return { socket, server, address };
  }

  protected async acceptConnection(
    quicConnection: import('@matrixai/quic').QUICConnection,
  ): Promise<void> {
    let peer: PeerIdentity;
    try {
      peer = await this.verifyPeer(quicConnection.getRemoteCertsChain(), undefined);
    } catch (e) {
      await quicConnection.stop({ isApp: true, errorCode: 0, force: true });
      return;
    }
    const connection = new QUICNodeConnection({
      localNodeId: this.nodeId,
      remoteNodeId: peer.nodeId,
      initiator: 'remote',
      protocol: peer.protocol,
      quicConnection,
      destroy: (force) => quicConnection.stop({ isApp: true, errorCode: 0, force }),
    });
    try {
      // A Polykey 1.x agent would take the marker's stream for an RPC call.
      if (peer.protocol === 'node-network') await connection.sendAccept();
    } catch (e) {
      this.logger.warn(`Could not confirm inbound connection: ${(e as Error).message}`);
      await connection.close();
      return;
    }
    this.track(connection);
    this.dispatchEvent(new events.EventQUICTransportConnection({ detail: connection }));
    for (const h of this.connectionHandlers) h(connection);
  }

  protected track(connection: QUICNodeConnection): void {
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
  }

  protected async verifyPeer(
    certs: ReadonlyArray<Uint8Array>,
    expectedNodeId: NodeId | undefined,
  ): Promise<PeerIdentity> {
    return identity.verifyPeerCertificateChain(certs, {
      network: this.network,
      now: this.now(),
      expectedNodeId,
      polykeyNetwork: this.config.polykeyNetwork,
    });
  }

  /**
   * Grows the UDP socket's kernel buffers (the OS caps them at
   * net.core.rmem_max / wmem_max). With the 208 KiB default, a loopback burst
   * overflowed the receive buffer (0.5% of datagrams lost in a 16 MB
   * transfer), and every loss halved quiche's congestion window.
   */
  protected sizeSocketBuffers(socket: QUICSocket): void {
    const dgram = dgramOf(socket);
    const size = this.config.socketBufferSize;
    if (dgram == null || size <= 0) return;
    try {
      dgram.setRecvBufferSize(size);
      dgram.setSendBufferSize(size);
    } catch (e) {
      this.logger.warn(
        `Cannot size the UDP socket buffers to ${size} bytes: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Batched sends (UDP GSO, `src/gso.ts`): the patched @matrixai/quic hands
   * whole batches of packets to `socket.gsoSend`. Logged either way.
   */
  protected enableGso(socket: QUICSocket, family: AddressFamily): void {
    const dgram = dgramOf(socket);
    if (!this.config.udpGso || dgram == null) return;
    const send = makeGsoSend(dgram, family, this.logger, this.gsoStats);
    if (typeof send === 'string') {
      this.logger.warn(`No batched UDP sends (${send}): one datagram per system call`);
      return;
    }
    (socket as unknown as { gsoSend?: GsoSend }).gsoSend = send;
    this.logger.debug(`Batched UDP sends (GSO) on ${family}`);
  }

  /**
   * Batched receives (`src/recvBatch.ts`): after each datagram Node delivers,
   * what else waits is read with one system call and handed to the patched
   * @matrixai/quic's `handleDatagramView`. Logged either way.
   */
  protected enableRecvBatch(socket: QUICSocket, family: AddressFamily): void {
    const dgram = dgramOf(socket);
    if (!this.config.udpRecvBatch || dgram == null) return;
    const view = (socket as unknown as { handleDatagramView?: DatagramSink }).handleDatagramView;
    const installed =
      typeof view !== 'function'
        ? '@matrixai/quic lacks the patch that reads datagram views'
        : installRecvBatch(dgram, view.bind(socket), this.recvStats);
    if (typeof installed === 'string') {
      this.logger.warn(`No batched UDP receives (${installed}): one datagram per system call`);
      return;
    }
    this.logger.debug(`Batched UDP receives (recvmmsg) on ${family}`);
  }

  protected quicConfig() {
    return {
      // Let peers run many concurrent calls; our own dials wait for credit.
      initialMaxStreamsBidi: 1000,
      // Measured on loopback (benches/suites/transport): 64 KiB reads and 4 MiB stream / 16 MiB
      // connection windows took one stream from 55 to 68 MB/s over @matrixai/quic's 4 KiB / 1 MiB.
      readableChunkSize: 64 * 1024,
      initialMaxStreamDataBidiLocal: 4 * 1024 * 1024,
      initialMaxStreamDataBidiRemote: 4 * 1024 * 1024,
      initialMaxData: 16 * 1024 * 1024,
      ...this.config.quic,
      key: this.keyPem(),
      cert: this.certPem(),
      verifyPeer: true,
      applicationProtos: [alpn],
      keepAliveIntervalTime: this.config.keepAliveIntervalTime,
      maxIdleTimeout: this.config.maxIdleTimeout,
    };
  }

  protected keyPem(): string {
    return identity.privateKeyToPem(this.keyPair.privateKey);
  }

  protected certPem(): string {
    return identity.certificateChainToPem(this.certificateChain ?? []);
  }

  protected audit(record: Omit<events.AuditRecord, 'time'>): void {
    this.dispatchEvent(new events.EventAudit({ detail: { time: Date.now(), ...record } }));
  }

  protected async unbindAll(): Promise<void> {
    const bound = this.bound;
    this.bound = [];
    for (const b of bound) {
      await b.server.stop({ isApp: true, errorCode: 0, force: true }).catch(() => {});
      await b.socket.stop({ force: true }).catch(() => {});
    }
  }
}

/** The NodeId a rejected chain claimed, for the audit trail (best effort). */
function claimedNodeId(certs: ReadonlyArray<Uint8Array>): string | undefined {
  try {
    return identity.claimedNodeIdOfCertificate(certs[0]);
  } catch {
    return undefined;
  }
}

export default QUICTransport;
