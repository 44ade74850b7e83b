import type {
  Address,
  Connection,
  NodeId,
  Stream,
  Unsubscribe,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { PeerProtocol } from '@node-network/network-identity';
import type { ConnectionMeta } from './protocol.js';
import type WorkerStream from './WorkerStream.js';
import { errors as baseErrors } from '@node-network/network-interface';

let connectionCounter = 0;

/** What a connection asks of the worker that holds its QUIC connection. */
type ConnectionEngine = {
  openStream(c: number, ctx: Partial<ContextTimedInput>): Promise<WorkerStream>;
  closeConnection(c: number): Promise<void>;
};

/**
 * A verified QUIC connection that lives in a worker thread, seen from the
 * main thread: the same `Connection` (and `QUICNodeConnection`'s `protocol`
 * and `openStreams`) as the main-thread engine's, its streams proxied
 * (`WorkerStream`).
 */
class WorkerQUICConnection implements Connection {
  public readonly id: string;
  public readonly localNodeId: NodeId;
  public readonly remoteNodeId: NodeId;
  public readonly localAddress: Address;
  public readonly initiator: 'local' | 'remote';
  /** What the peer speaks (from its certificate), as `QUICNodeConnection.protocol`. */
  public readonly protocol: PeerProtocol;
  /** The engine's number for it. */
  public readonly c: number;
  protected _remoteAddress: Address;
  protected engine: ConnectionEngine;
  protected streams = new Set<WorkerStream>();
  protected streamHandlers = new Set<(stream: Stream) => void>();
  protected closeHandlers = new Set<(reason: Error | undefined) => void>();
  protected pendingStreams: Array<WorkerStream> = [];
  protected _closed = false;
  protected closeReason: Error | undefined;

  public constructor({
    meta,
    localNodeId,
    engine,
  }: {
    meta: ConnectionMeta;
    localNodeId: NodeId;
    engine: ConnectionEngine;
  }) {
    this.id = `quic-worker-${++connectionCounter}`;
    this.c = meta.c;
    this.localNodeId = localNodeId;
    this.remoteNodeId = meta.remoteNodeId as NodeId;
    this.localAddress = meta.localAddress;
    this._remoteAddress = meta.remoteAddress;
    this.initiator = meta.initiator;
    this.protocol = meta.protocol;
    this.engine = engine;
  }

  /** Where the peer's packets come from now (the engine reports migrations). */
  public get remoteAddress(): Address {
    return this._remoteAddress;
  }

  public get closed(): boolean {
    return this._closed;
  }

  /** Streams not yet finished in both directions. */
  public get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Opens a bidirectional stream in the worker. As on the main-thread engine,
   * it waits for stream credit from the peer (bounded by `ctx`).
   */
  public async openStream(ctx: Partial<ContextTimedInput> = {}): Promise<Stream> {
    if (ctx.signal?.aborted) {
      throw new baseErrors.ErrorCancelled('Opening a stream was cancelled', {
        cause: ctx.signal.reason,
      });
    }
    if (this._closed) {
      throw new baseErrors.ErrorConnectionClosed('Connection is closed', {
        cause: this.closeReason,
      });
    }
    const stream = await this.engine.openStream(this.c, ctx);
    if (this._closed) {
      stream.fail(
        new baseErrors.ErrorConnectionClosed('Connection is closed', {
          cause: this.closeReason,
        }),
      );
      throw new baseErrors.ErrorConnectionClosed('Connection is closed', {
        cause: this.closeReason,
      });
    }
    return stream;
  }

  public onStream(handler: (stream: Stream) => void): Unsubscribe {
    this.streamHandlers.add(handler);
    const pending = this.pendingStreams;
    this.pendingStreams = [];
    for (const s of pending) handler(s);
    return () => {
      this.streamHandlers.delete(handler);
    };
  }

  public onClose(handler: (reason: Error | undefined) => void): Unsubscribe {
    if (this._closed) {
      handler(this.closeReason);
      return () => {};
    }
    this.closeHandlers.add(handler);
    return () => {
      this.closeHandlers.delete(handler);
    };
  }

  public async close(reason?: Error): Promise<void> {
    if (this._closed) return;
    this.markClosed(reason);
    await this.engine.closeConnection(this.c).catch(() => {});
  }

  /** A stream of this connection exists (opened by us or the peer); `inbound`: hand it out. */
  public addStream(stream: WorkerStream, inbound: boolean): void {
    this.streams.add(stream);
    if (!inbound) return;
    if (this.streamHandlers.size === 0) {
      this.pendingStreams.push(stream);
      return;
    }
    for (const h of this.streamHandlers) h(stream);
  }

  public removeStream(stream: WorkerStream): void {
    this.streams.delete(stream);
  }

  public setRemoteAddress(address: Address): void {
    this._remoteAddress = address;
  }

  /**
   * The connection closed (either side, or its worker died): every stream's
   * pending reads and writes reject, close handlers run once.
   */
  public markClosed(reason: Error | undefined): void {
    if (this._closed) return;
    this._closed = true;
    this.closeReason = reason;
    const streamError =
      reason ?? new baseErrors.ErrorConnectionClosed('Connection closed while the stream was open');
    for (const s of this.streams) s.fail(streamError);
    this.streams.clear();
    for (const s of this.pendingStreams) s.fail(streamError);
    this.pendingStreams = [];
    const handlers = [...this.closeHandlers];
    this.closeHandlers.clear();
    for (const h of handlers) h(reason);
  }
}

export default WorkerQUICConnection;
export type { ConnectionEngine };
