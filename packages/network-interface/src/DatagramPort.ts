import type { Address, AddressFamily, Unsubscribe } from './types.js';

/**
 * A bound UDP-like endpoint: unreliable, unordered datagrams to and from
 * addresses. Implemented over `node:dgram` (transport) and over the virtual
 * network (netsim). Protocol code (hole punching, NAT probing) is written
 * against this and never against a real socket.
 */
interface DatagramPort {
  /** The address this port is bound to (after NAT, peers may see another one). */
  readonly localAddress: Address;
  /** Largest payload `send` accepts, in bytes. */
  readonly maxDatagramSize: number;
  readonly closed: boolean;
  /**
   * Sends one datagram. Resolves once handed to the network (not delivered:
   * datagrams may be lost). Rejects with `ErrorDatagramPortClosed` after
   * `close`, `ErrorDatagramTooLarge` above `maxDatagramSize`, and
   * `ErrorDatagramAddressInvalid` for an address of the wrong family.
   */
  send(data: Uint8Array, to: Address): Promise<void>;
  /**
   * Optional: sends one datagram without telling when or whether it went
   * (no promise per datagram: a forwarding hot path). A datagram that cannot
   * be sent is lost, as on the network; `onError` hears why.
   */
  post?(data: Uint8Array, to: Address, onError?: (e: Error) => void): void;
  /**
   * Registers a receiver. Every registered receiver sees every datagram that
   * arrives while it is registered. `data` belongs to the receiver.
   */
  onDatagram(handler: (data: Uint8Array, from: Address) => void): Unsubscribe;
  /** Stops receiving and sending; idempotent. Pending receives are dropped. */
  close(): Promise<void>;
}

/** Binds a `DatagramPort` at `address` (port 0: any free port). */
type BindDatagramPort = (address: {
  host: string;
  port: number;
  family: AddressFamily;
}) => Promise<DatagramPort>;

export type { DatagramPort, BindDatagramPort };
