import type { ContextTimedInput } from '@matrixai/contexts';
import type { Connection, PunchSockets } from './Connection.js';
import type { DatagramPort } from './DatagramPort.js';
import type { Address, NodeId, Unsubscribe } from './types.js';
import { ErrorConnectionDial } from './errors.js';
import { formatAddress } from './utils.js';

/**
 * `PunchSockets` over datagram ports that a transport bound: every
 * transport implements `openPunchSockets` with this and its own `dial`
 * (which turns one port into a connection's socket).
 */
class PunchSocketSet implements PunchSockets {
  protected ports: Array<DatagramPort | undefined>;
  protected unsubscribes: Array<Unsubscribe>;
  protected handlers = new Set<(index: number, from: Address) => void>();
  protected dialFrom: (
    port: DatagramPort,
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput>,
  ) => Promise<Connection>;

  public constructor({
    ports,
    dial,
  }: {
    ports: ReadonlyArray<DatagramPort>;
    dial: PunchSocketSet['dialFrom'];
  }) {
    this.ports = [...ports];
    this.dialFrom = dial;
    this.unsubscribes = this.ports.map((p, i) =>
      p!.onDatagram((_data, from) => {
        for (const h of this.handlers) h(i, from);
      }),
    );
  }

  public get count(): number {
    return this.ports.length;
  }

  /** The local port of socket `index` (undefined once handed to a connection or closed). */
  public localAddress(index: number): Address | undefined {
    return this.ports[index]?.localAddress;
  }

  public async sendAll(address: Address, payload: Uint8Array): Promise<void> {
    if (payload.byteLength === 0 || payload.byteLength > 20) {
      throw new RangeError(`A punch payload is 1 to 20 bytes, got ${payload.byteLength}`);
    }
    await Promise.all(
      this.ports.map((p) =>
        p == null || p.closed ? undefined : p.send(payload, address).catch(() => {}),
      ),
    );
  }

  public onReceive(handler: (index: number, from: Address) => void): Unsubscribe {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  public async dial(
    index: number,
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<Connection> {
    const port = this.ports[index];
    if (port == null || port.closed) {
      throw new ErrorConnectionDial(
        `Punch socket ${index} is not open, cannot dial ${formatAddress(address)} from it`,
      );
    }
    this.ports[index] = undefined;
    this.unsubscribes[index]();
    return await this.dialFrom(port, nodeId, address, ctx);
  }

  public async close(): Promise<void> {
    for (const u of this.unsubscribes) u();
    this.handlers.clear();
    const ports = this.ports.splice(0).filter((p): p is DatagramPort => p != null);
    this.ports = [];
    await Promise.all(ports.map((p) => p.close().catch(() => {})));
  }
}

export default PunchSocketSet;
