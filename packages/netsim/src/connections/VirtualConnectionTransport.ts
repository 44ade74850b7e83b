import type { ContextTimedInput } from '@matrixai/contexts';
import type {
  Address,
  AddressFamily,
  Clock,
  Connection,
  ConnectionTransport,
  NodeId,
  PunchSockets,
  TimerHandle,
  Unsubscribe,
} from '@node-network/network-interface';
import type Network from '../Network.js';
import type { SimHost } from '../Network.js';
import type VirtualDatagramPort from '../VirtualDatagramPort.js';
import type { Packet } from './packets.js';
import type { VirtualConnectionConfig } from './VirtualConnection.js';
import {
  errors as baseErrors,
  formatAddress,
  PunchSocketSet,
} from '@node-network/network-interface';
import VirtualConnection, { connectionConfigDefault } from './VirtualConnection.js';
import { decodePacket, encodePacket } from './packets.js';
import { ErrorNetsimTransport } from '../errors.js';

type VirtualTransportConfig = VirtualConnectionConfig & {
  /** Default limit of one dial, ms. */
  connectTimeoutTime: number;
  /** First hello retransmission interval, ms (doubles up to 1 s). */
  helloInterval: number;
};

const transportConfigDefault: VirtualTransportConfig = {
  ...connectionConfigDefault,
  connectTimeoutTime: 15_000,
  helloInterval: 250,
};

type PendingDial = {
  nodeId: NodeId;
  address: Address;
  port: VirtualDatagramPort;
  settle: (result: { connection: Connection } | { error: Error }) => void;
};

function hex(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}

/**
 * netsim's `ConnectionTransport`: connections between simulated hosts over
 * the virtual network, one bound port per address family shared by every
 * connection (as with QUIC, so the NAT mapping a node's connections use is
 * the one its peers observe). A dial sends `hello` until the listener's
 * `welcome` (or `reject`), the timeout or the cancellation.
 */
class VirtualConnectionTransport implements ConnectionTransport {
  public readonly nodeId: NodeId;
  public readonly network: string;
  public readonly host: SimHost;
  public readonly config: VirtualTransportConfig;
  protected net: Network;
  protected clock: Clock;
  protected ports = new Map<AddressFamily, VirtualDatagramPort>();
  /** Punch sockets that connections were dialled from. */
  protected extraPorts = new Set<VirtualDatagramPort>();
  protected unsubscribes: Array<Unsubscribe> = [];
  protected connections = new Map<number, VirtualConnection>();
  /** Inbound connections by the dialer's address and connection id (hello retransmissions). */
  protected inboundByDialer = new Map<string, VirtualConnection>();
  protected pending = new Map<number, PendingDial>();
  protected handlers = new Set<(c: Connection) => void>();
  protected nextConnId = 1;
  protected running = false;

  public constructor({
    network,
    host,
    nodeId,
    networkId = 'mainnet',
    clock,
    config = {},
  }: {
    network: Network;
    host: SimHost;
    nodeId: NodeId;
    /** Only peers of the same network are admitted. */
    networkId?: string;
    clock?: Clock;
    config?: Partial<VirtualTransportConfig>;
  }) {
    this.net = network;
    this.host = host;
    this.nodeId = nodeId;
    this.network = networkId;
    this.clock = clock ?? network.clock;
    this.config = { ...transportConfigDefault, ...config };
  }

  public get localAddresses(): ReadonlyArray<Address> {
    return [...this.ports.values()].map((p) => p.localAddress);
  }

  /** Binds one port per family the host has (`port` 0: ephemeral). */
  public async start({ port = 0 }: { port?: number } = {}): Promise<void> {
    if (this.running) return;
    for (const family of ['ipv4', 'ipv6'] as const) {
      if ((family === 'ipv4' ? this.host.ipv4 : this.host.ipv6) == null) continue;
      const p = this.net.bind(this.host, family, port);
      this.ports.set(family, p);
      this.unsubscribes.push(p.onDatagram((data, from) => this.receive(p, data, from)));
    }
    this.running = true;
  }

  public async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const d of [...this.pending.values()]) {
      d.settle({ error: new baseErrors.ErrorConnectionTransportNotRunning('Transport stopped') });
    }
    await Promise.all([...this.connections.values()].map((c) => c.close()));
    for (const u of this.unsubscribes.splice(0)) u();
    await Promise.all([...this.ports.values(), ...this.extraPorts].map((p) => p.close()));
    this.ports.clear();
    this.extraPorts.clear();
  }

  public onConnection(handler: (connection: Connection) => void): Unsubscribe {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Sends a punch datagram from the port of `address`'s family (the receiver drops it). */
  public async sendPunch(address: Address, payload: Uint8Array): Promise<void> {
    const port = this.ports.get(address.family);
    if (!this.running || port == null) {
      throw new ErrorNetsimTransport(
        `No ${address.family} port is bound, cannot punch toward ${formatAddress(address)}`,
      );
    }
    await port.send(payload, address);
  }

  /**
   * Binds `count` extra ports of `family` for birthday punching; each
   * carries connections like the main port once dialled from.
   */
  public async openPunchSockets(family: AddressFamily, count: number): Promise<PunchSockets> {
    if (!this.running || !this.ports.has(family)) {
      throw new ErrorNetsimTransport(`No ${family} port is bound, cannot open punch sockets`);
    }
    const ports: Array<VirtualDatagramPort> = [];
    for (let i = 0; i < count; i++) ports.push(this.net.bind(this.host, family, 0));
    return new PunchSocketSet({
      ports,
      dial: (port, nodeId, address, ctx) => {
        // From now on the port carries a connection: route its packets and close it with us.
        const p = port as VirtualDatagramPort;
        this.unsubscribes.push(p.onDatagram((data, from) => this.receive(p, data, from)));
        this.extraPorts.add(p);
        return this.dialFrom(p, nodeId, address, ctx);
      },
    });
  }

  public dial(
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<Connection> {
    const port = this.ports.get(address.family);
    if (port == null && this.running) {
      return Promise.reject(
        new ErrorNetsimTransport(
          `No ${address.family} port is bound, cannot dial ${hex(nodeId).slice(0, 12)}… at ${formatAddress(address)}`,
        ),
      );
    }
    return this.dialFrom(port!, nodeId, address, ctx);
  }

  protected dialFrom(
    port: VirtualDatagramPort,
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<Connection> {
    const where = `${hex(nodeId).slice(0, 12)}… at ${formatAddress(address)}`;
    if (!this.running) {
      return Promise.reject(
        new baseErrors.ErrorConnectionTransportNotRunning('Transport is not running'),
      );
    }
    if (ctx.signal?.aborted) {
      return Promise.reject(
        new baseErrors.ErrorCancelled(`Dial to ${where} cancelled`, { cause: ctx.signal.reason }),
      );
    }
    const timeout = typeof ctx.timer === 'number' ? ctx.timer : this.config.connectTimeoutTime;
    const connId = this.nextConnId++;
    const hello = encodePacket({
      type: 'hello',
      connId,
      from: this.nodeId,
      to: nodeId,
      network: this.network,
    });
    return new Promise<Connection>((resolve, reject) => {
      let interval = this.config.helloInterval;
      let helloTimer: TimerHandle | undefined;
      const sendHello = () => {
        void port.send(hello, address).catch(() => {});
        helloTimer = this.clock.setTimer(interval, sendHello);
        interval = Math.min(1_000, interval * 2);
      };
      const onAbort = () =>
        settle({
          error: new baseErrors.ErrorCancelled(`Dial to ${where} cancelled`, {
            cause: ctx.signal?.reason,
          }),
        });
      const deadline = this.clock.setTimer(timeout, () =>
        settle({
          error: new baseErrors.ErrorTimeout(`Dial to ${where} timed out after ${timeout} ms`),
        }),
      );
      const settle = (result: { connection: Connection } | { error: Error }) => {
        if (!this.pending.delete(connId)) return;
        helloTimer?.cancel();
        deadline.cancel();
        ctx.signal?.removeEventListener('abort', onAbort);
        if ('error' in result) reject(result.error);
        else resolve(result.connection);
      };
      this.pending.set(connId, { nodeId, address, port, settle });
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      sendHello();
    });
  }

  protected receive(port: VirtualDatagramPort, data: Uint8Array, from: Address): void {
    let p: Packet;
    try {
      p = decodePacket(data);
    } catch {
      // Not ours (a punch probe, garbage): netsim drops it like QUIC would.
      return;
    }
    switch (p.type) {
      case 'hello':
        return this.handleHello(port, p, from);
      case 'welcome':
      case 'reject':
        return this.handleAnswer(p, from);
      default:
        this.connections.get(p.connId)?.handlePacket(p, from);
    }
  }

  protected handleHello(
    port: VirtualDatagramPort,
    p: Packet & { type: 'hello' },
    from: Address,
  ): void {
    const dialer = `${formatAddress(from)}|${p.connId}`;
    const existing = this.inboundByDialer.get(dialer);
    if (existing != null && !existing.closed) {
      // Our welcome was lost: say it again.
      void port.send(this.welcome(existing), from).catch(() => {});
      return;
    }
    if (p.network !== this.network) {
      void port.send(encodePacket({ type: 'reject', connId: p.connId, reason: 'network' }), from);
      return;
    }
    const connId = this.nextConnId++;
    const connection = new VirtualConnection({
      id: `${this.host.name}#${connId}`,
      localNodeId: this.nodeId,
      remoteNodeId: p.from as NodeId,
      port,
      remoteAddress: from,
      initiator: 'remote',
      connId,
      peerConnId: p.connId,
      clock: this.clock,
      config: this.config,
      onClosed: () => {
        this.connections.delete(connId);
        this.inboundByDialer.delete(dialer);
      },
    });
    this.connections.set(connId, connection);
    this.inboundByDialer.set(dialer, connection);
    void port.send(this.welcome(connection), from).catch(() => {});
    for (const h of this.handlers) h(connection);
  }

  protected handleAnswer(p: Packet & { type: 'welcome' | 'reject' }, from: Address): void {
    const dial = this.pending.get(p.connId);
    if (dial == null) return;
    const where = `${hex(dial.nodeId).slice(0, 12)}… at ${formatAddress(dial.address)}`;
    if (p.type === 'reject') {
      dial.settle({
        error: new baseErrors.ErrorConnectionRejectedByPeer(
          `${where} refused us: we are not in its network (${this.network})`,
        ),
      });
      return;
    }
    const connection = new VirtualConnection({
      id: `${this.host.name}#${p.connId}`,
      localNodeId: this.nodeId,
      remoteNodeId: p.from as NodeId,
      port: dial.port,
      remoteAddress: from,
      initiator: 'local',
      connId: p.connId,
      peerConnId: p.peerConnId,
      clock: this.clock,
      config: this.config,
      onClosed: () => this.connections.delete(p.connId),
    });
    if (hex(p.from) !== hex(dial.nodeId)) {
      this.connections.set(p.connId, connection);
      void connection.close();
      dial.settle({
        error: new baseErrors.ErrorConnectionNodeIdMismatch(
          `Expected ${hex(dial.nodeId).slice(0, 12)}…, ${formatAddress(dial.address)} is ${hex(p.from).slice(0, 12)}…`,
        ),
      });
      return;
    }
    this.connections.set(p.connId, connection);
    dial.settle({ connection });
  }

  protected welcome(c: VirtualConnection): Uint8Array {
    return encodePacket({
      type: 'welcome',
      connId: c.peerConnId,
      peerConnId: c.connId,
      from: this.nodeId,
    });
  }
}

export default VirtualConnectionTransport;
export { transportConfigDefault as virtualTransportConfigDefault };
export type { VirtualTransportConfig };
