import type { ContextTimedInput } from '@matrixai/contexts';
import type { Address, AddressFamily, NodeId, Unsubscribe } from './types.js';

/**
 * One reliable, ordered, bidirectional byte stream on a connection.
 * Closing `writable` ends our direction (the peer reads EOF); `cancel` aborts
 * both directions with a reason.
 */
interface Stream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  cancel(reason?: unknown): void;
}

/**
 * An authenticated, encrypted connection to one node. The remote NodeId has
 * been verified during the handshake (the peer proved its key), and the peer
 * was admitted to our network.
 */
interface Connection {
  /** Unique within the process. */
  readonly id: string;
  readonly localNodeId: NodeId;
  readonly remoteNodeId: NodeId;
  readonly localAddress: Address;
  readonly remoteAddress: Address;
  /** Which side dialled. */
  readonly initiator: 'local' | 'remote';
  readonly closed: boolean;
  /**
   * Opens a new stream. Rejects with `ErrorConnectionClosed` once the
   * connection is closed.
   */
  openStream(ctx?: Partial<ContextTimedInput>): Promise<Stream>;
  /** Streams the peer opens are handed to every registered handler. */
  onStream(handler: (stream: Stream) => void): Unsubscribe;
  /**
   * Called once when the connection closes, with the reason: `undefined` for
   * a graceful close by either side, an `ErrorConnection*` otherwise.
   * Registering after the close calls the handler at once.
   */
  onClose(handler: (reason: Error | undefined) => void): Unsubscribe;
  /** Closes the connection and all its streams; idempotent. */
  close(reason?: Error): Promise<void>;
}

/**
 * Makes connections: dials NodeIds at addresses and accepts them.
 * Implemented over QUIC (transport) and over the virtual network (netsim).
 */
interface ConnectionTransport {
  readonly nodeId: NodeId;
  /** The addresses it accepts connections on, one per bound socket. */
  readonly localAddresses: ReadonlyArray<Address>;
  /**
   * Connects to `nodeId` at `address`. Resolves with a connection whose
   * `remoteNodeId` equals `nodeId`, or rejects with an `ErrorConnectionDial`
   * (unreachable, handshake failed, peer rejected), `ErrorTimeout` or
   * `ErrorCancelled`. Every dial has a default timeout.
   */
  dial(nodeId: NodeId, address: Address, ctx?: Partial<ContextTimedInput>): Promise<Connection>;
  /** Inbound connections, once authenticated, go to every registered handler. */
  onConnection(handler: (connection: Connection) => void): Unsubscribe;
  /**
   * Hole punching: sends `payload` (a few bytes that no connection protocol
   * accepts, so the receiver drops it) to `address` from the very socket
   * connections of that family use, opening our NAT's mapping and filter
   * toward it. Rejects with `ErrorTransportFamilyUnavailable`-like errors
   * when no socket of that family is bound. Optional: a transport without
   * it cannot punch.
   */
  sendPunch?(address: Address, payload: Uint8Array): Promise<void>;
  /**
   * Birthday punching from behind an endpoint-dependent (symmetric) NAT:
   * binds `count` extra sockets of `family` (each gets its own NAT
   * mapping), from which the caller sprays punches and, once one of them
   * hears the peer, dials from it. Optional.
   */
  openPunchSockets?(family: AddressFamily, count: number): Promise<PunchSockets>;
}

/** Extra sockets for birthday punching (see `ConnectionTransport.openPunchSockets`). */
interface PunchSockets {
  /** How many sockets are bound (may be fewer than asked when the host ran out of ports). */
  readonly count: number;
  /** The local address socket `index` is bound to (undefined once handed to a connection or closed). */
  localAddress(index: number): Address | undefined;
  /** Sends `payload` (1 to 20 bytes) from every open socket to `address`. */
  sendAll(address: Address, payload: Uint8Array): Promise<void>;
  /** Called when socket `index` receives any datagram; `from` is its sender. */
  onReceive(handler: (index: number, from: Address) => void): Unsubscribe;
  /**
   * Dials `nodeId` at `address` from socket `index`: the socket becomes the
   * connection's (it lives as long as the connection), and is no longer one
   * of these. The connection is not announced by `onConnection` (we dialled
   * it); the caller adopts it.
   */
  dial(
    index: number,
    nodeId: NodeId,
    address: Address,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<Connection>;
  /** Closes every socket not handed to a connection. Idempotent. */
  close(): Promise<void>;
}

export type { Stream, Connection, ConnectionTransport, PunchSockets };
