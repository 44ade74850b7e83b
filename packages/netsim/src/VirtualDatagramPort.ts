import type { Address, DatagramPort, Unsubscribe } from '@node-network/network-interface';
import type Network from './Network.js';
import type { SimHost } from './Network.js';
import { assertDatagramSendable, DatagramHandlers } from '@node-network/network-interface';

/** A `DatagramPort` bound on a simulated host; datagrams travel through `Network`. */
class VirtualDatagramPort implements DatagramPort {
  public readonly localAddress: Address;
  public readonly maxDatagramSize = 65507;
  public readonly host: SimHost;
  protected network: Network;
  protected handlers = new DatagramHandlers();
  protected _closed = false;

  public constructor(network: Network, host: SimHost, localAddress: Address) {
    this.network = network;
    this.host = host;
    this.localAddress = localAddress;
  }

  public get closed(): boolean {
    return this._closed;
  }

  public async send(data: Uint8Array, to: Address): Promise<void> {
    assertDatagramSendable(this, data, to);
    this.network.transmit(this, new Uint8Array(data), to);
  }

  public onDatagram(handler: (data: Uint8Array, from: Address) => void): Unsubscribe {
    return this.handlers.add(handler);
  }

  public async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    this.handlers.clear();
    this.network.unbind(this);
  }

  /** Called by the network when a datagram arrives. */
  public deliver(data: Uint8Array, from: Address): void {
    if (this._closed) return;
    this.handlers.dispatch(data, from, true);
  }
}

export default VirtualDatagramPort;
