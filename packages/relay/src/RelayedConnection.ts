import type {
  Address,
  Clock,
  Connection,
  NodeId,
  Stream,
  Unsubscribe,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type tls from 'node:tls';
import type { MuxConfig } from './mux/MuxSession.js';
import MuxSession from './mux/MuxSession.js';
import { tunnelTransport } from './tunnel.js';

let nextId = 0;

/**
 * A connection to a node through a relay: an end-to-end TLS 1.3 tunnel (the
 * relay sees ciphertext only) carrying multiplexed streams. It is a
 * `Connection` like a direct one (RPC runs on it unchanged); `relay` names
 * the node in the middle, and the addresses are those of our connection to
 * the relay (where the bytes really go).
 */
class RelayedConnection implements Connection {
  public readonly id: string;
  public readonly localNodeId: NodeId;
  public readonly remoteNodeId: NodeId;
  /** The node in the middle (a relayed connection); undefined for a tunnel straight to the peer. */
  public readonly relay: NodeId;
  public readonly localAddress: Address;
  public readonly remoteAddress: Address;
  public readonly initiator: 'local' | 'remote';
  /**
   * `relayed`: a circuit through a relay; `websocket`: a tunnel straight to
   * the peer over WebSocket on TCP (see @node-network/http-relay).
   */
  public readonly path: 'relayed' | 'websocket';
  /** Some leg of the way runs over WebSocket on TCP (an HTTP relay). */
  public readonly overHttp: boolean;
  protected session: MuxSession;
  protected socket: tls.TLSSocket;

  public constructor({
    socket,
    localNodeId,
    remoteNodeId,
    relay,
    localAddress,
    remoteAddress,
    initiator,
    clock,
    config,
    path = 'relayed',
    overHttp = path === 'websocket',
  }: {
    path?: 'relayed' | 'websocket';
    overHttp?: boolean;
    socket: tls.TLSSocket;
    localNodeId: NodeId;
    remoteNodeId: NodeId;
    relay: NodeId;
    localAddress: Address;
    remoteAddress: Address;
    initiator: 'local' | 'remote';
    clock: Clock;
    config?: Partial<MuxConfig>;
  }) {
    this.id = `${path}-${++nextId}`;
    this.path = path;
    this.overHttp = overHttp;
    this.socket = socket;
    this.localNodeId = localNodeId;
    this.remoteNodeId = remoteNodeId;
    this.relay = relay;
    this.localAddress = localAddress;
    this.remoteAddress = remoteAddress;
    this.initiator = initiator;
    // The socket's events come on later turns: the session exists before any arrives.
    const transport = tunnelTransport(socket, {
      onData: (b) => this.session.receive(b),
      onEnd: (e) => this.session.receiveEnd(e),
    });
    this.session = new MuxSession({
      role: initiator === 'local' ? 'client' : 'server',
      transport,
      clock,
      config,
    });
  }

  public get closed(): boolean {
    return this.session.closed;
  }

  /** Streams open now (both ends not yet finished). */
  public get openStreams(): number {
    return this.session.openStreams;
  }

  public async openStream(ctx?: Partial<ContextTimedInput>): Promise<Stream> {
    ctx?.signal?.throwIfAborted();
    return this.session.openStream();
  }

  public onStream(handler: (stream: Stream) => void): Unsubscribe {
    return this.session.onStream(handler);
  }

  public onClose(handler: (reason: Error | undefined) => void): Unsubscribe {
    return this.session.onClose(handler);
  }

  public async close(reason?: Error): Promise<void> {
    this.session.close(reason);
  }
}

export default RelayedConnection;
