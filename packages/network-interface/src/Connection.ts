import type { ContextTimedInput } from '@matrixai/contexts';
import type { Address, NodeId, Unsubscribe } from './types.js';

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
}

export type { Stream, Connection, ConnectionTransport };
