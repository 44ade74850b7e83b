/**
 * Shared value types of node-network. Types only: every package above
 * imports these, so they carry no runtime code.
 */

declare const brand: unique symbol;

/** A nominal type: `T` that only code which validated it can produce. */
type Opaque<K, T> = T & { readonly [brand]: K };

/** A node's identity: its raw 32-byte Ed25519 public key. */
type NodeId = Opaque<'NodeId', Uint8Array>;

/** The canonical text form of a NodeId: multibase base32hex ('v' + 52 chars). */
type NodeIdEncoded = Opaque<'NodeIdEncoded', string>;

/** An IP address literal in canonical form (IPv4 dotted quad or compressed IPv6, no brackets, no zone). */
type Host = Opaque<'Host', string>;

type Port = Opaque<'Port', number>;

type AddressFamily = 'ipv4' | 'ipv6';

/** A transport address: one IP and port. */
type Address = {
  readonly host: Host;
  readonly port: Port;
  readonly family: AddressFamily;
};

/** Removes a handler that was registered with an `on*` method. */
type Unsubscribe = () => void;

export type { Opaque, NodeId, NodeIdEncoded, Host, Port, AddressFamily, Address, Unsubscribe };
