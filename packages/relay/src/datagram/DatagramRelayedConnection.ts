import type {
  Address,
  Connection,
  NodeId,
  Stream,
  Unsubscribe,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';

/**
 * A QUIC connection that runs end to end through a relay's datagram
 * circuit: the same connection a direct dial makes (the QUIC handshake
 * proved the peer's NodeId; the relay forwards ciphertext), addressed to the
 * relay's circuit port. This wrapper only says so: `path` is `relayed`,
 * `relay` names the node in the middle, `circuit` is `datagram`.
 */
class DatagramRelayedConnection implements Connection {
  public readonly path = 'relayed' as const;
  public readonly circuit = 'datagram' as const;
  public readonly overHttp = false;

  public constructor(
    public readonly inner: Connection,
    public readonly relay: NodeId,
  ) {}

  public get id(): string {
    return this.inner.id;
  }

  public get localNodeId(): NodeId {
    return this.inner.localNodeId;
  }

  public get remoteNodeId(): NodeId {
    return this.inner.remoteNodeId;
  }

  /** Ours, as the relay's circuit port sees it. */
  public get localAddress(): Address {
    return this.inner.localAddress;
  }

  /** The relay's circuit port (where the packets really go). */
  public get remoteAddress(): Address {
    return this.inner.remoteAddress;
  }

  public get initiator(): 'local' | 'remote' {
    return this.inner.initiator;
  }

  public get closed(): boolean {
    return this.inner.closed;
  }

  /** Streams open now (an upgrade closes this connection once it reaches 0). */
  public get openStreams(): number | undefined {
    return (this.inner as unknown as { openStreams?: number }).openStreams;
  }

  public openStream(ctx?: Partial<ContextTimedInput>): Promise<Stream> {
    return this.inner.openStream(ctx);
  }

  public onStream(handler: (stream: Stream) => void): Unsubscribe {
    return this.inner.onStream(handler);
  }

  public onClose(handler: (reason: Error | undefined) => void): Unsubscribe {
    return this.inner.onClose(handler);
  }

  public close(reason?: Error): Promise<void> {
    return this.inner.close(reason);
  }
}

export default DatagramRelayedConnection;
