import type {
  Address,
  Connection,
  NodeId,
  Stream,
  Unsubscribe,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { QUICConnection, QUICStream } from '@matrixai/quic';
import type { PeerProtocol } from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { events as quicEvents, errors as quicErrors } from '@matrixai/quic';
import { toAddress } from './addresses.js';

let connectionCounter = 0;

/**
 * After the server has verified the client's certificate, it opens its first
 * unidirectional stream (QUIC stream id 3) and writes this one byte. TLS 1.3
 * lets a client finish its handshake before the server has checked the
 * client's certificate, so without this a client that the server refuses
 * would believe, for a moment, that it is connected.
 */
const acceptMarker = 0x01;
const acceptStreamId = 3;

/** Maps the error a QUIC connection closed with to our typed close reason. */
function closeReasonFromQUIC(e: unknown): Error | undefined {
  if (e == null) return undefined;
  if (e instanceof quicErrors.ErrorQUICConnectionIdleTimeout) {
    return new baseErrors.ErrorConnectionIdleTimeout('Connection idle timeout', { cause: e });
  }
  if (
    (e instanceof quicErrors.ErrorQUICConnectionLocal ||
      e instanceof quicErrors.ErrorQUICConnectionPeer) &&
    (e.data as { errorCode?: number } | undefined)?.errorCode === 0
  ) {
    return undefined;
  }
  return new baseErrors.ErrorConnectionClosed(
    `Connection closed: ${(e as Error).message ?? String(e)}`,
    { cause: e },
  );
}

/**
 * A verified QUIC connection to one node, behind the `Connection` contract.
 * The QUIC stream objects already are `Stream`s (web readable/writable and
 * `cancel`), so they are handed out as they are.
 */
class QUICNodeConnection implements Connection {
  public readonly id: string;
  public readonly localNodeId: NodeId;
  public readonly remoteNodeId: NodeId;
  public readonly localAddress: Address;
  public readonly initiator: 'local' | 'remote';
  /** What the peer speaks (from its certificate): Polykey 1.x agents send and expect no accept marker. */
  public readonly protocol: PeerProtocol;
  public readonly quicConnection: QUICConnection;
  protected destroyQUIC: (force: boolean) => Promise<void>;
  protected streamHandlers = new Set<(stream: Stream) => void>();
  protected closeHandlers = new Set<(reason: Error | undefined) => void>();
  protected _closed = false;
  protected closeReason: Error | undefined;
  protected lastError: unknown;
  /** Streams that arrived before any handler was registered. */
  protected pendingStreams: Array<QUICStream> = [];
  /** Resolves when the server has said it accepted us (dialled connections only). */
  public readonly accepted: Promise<void>;
  protected resolveAccepted!: () => void;
  protected rejectAccepted!: (e: Error) => void;
  protected acceptSettled = false;
  protected openStreams = 0;
  protected slotWaiters: Array<() => void> = [];

  public constructor({
    localNodeId,
    remoteNodeId,
    initiator,
    quicConnection,
    destroy,
    protocol = 'node-network',
  }: {
    localNodeId: NodeId;
    remoteNodeId: NodeId;
    initiator: 'local' | 'remote';
    protocol?: PeerProtocol;
    quicConnection: QUICConnection;
    /** Tears down the QUIC connection (client or server side). */
    destroy: (force: boolean) => Promise<void>;
  }) {
    this.id = `quic-${++connectionCounter}`;
    this.localNodeId = localNodeId;
    this.remoteNodeId = remoteNodeId;
    this.initiator = initiator;
    this.protocol = protocol;
    this.quicConnection = quicConnection;
    this.destroyQUIC = destroy;
    this.localAddress = toAddress(quicConnection.localHost, quicConnection.localPort);
    this.accepted = new Promise<void>((resolve, reject) => {
      this.resolveAccepted = () => {
        this.acceptSettled = true;
        resolve();
      };
      this.rejectAccepted = (e) => {
        this.acceptSettled = true;
        reject(e);
      };
    });
    // Nobody awaits it on accepted (server-side) connections.
    this.accepted.catch(() => {});
    // A Polykey 1.x server sends no accept marker: its TLS verdict is the only one.
    if (initiator === 'remote' || protocol === 'polykey-1') this.resolveAccepted();
    quicConnection.addEventListener(quicEvents.EventQUICConnectionStream.name, (evt: Event) => {
      const stream = (evt as quicEvents.EventQUICConnectionStream).detail;
      if (
        this.initiator === 'local' &&
        this.protocol === 'node-network' &&
        stream.streamId === acceptStreamId
      ) {
        void this.readAccept(stream);
        return;
      }
      if (this.streamHandlers.size === 0) {
        this.pendingStreams.push(stream);
        return;
      }
      for (const h of this.streamHandlers) h(stream);
    });
    quicConnection.addEventListener(quicEvents.EventQUICConnectionError.name, (evt: Event) => {
      this.lastError = (evt as quicEvents.EventQUICConnectionError).detail;
    });
    quicConnection.addEventListener(
      quicEvents.EventQUICConnectionStopped.name,
      () => this.markClosed(closeReasonFromQUIC(this.lastError)),
      { once: true },
    );
    if (quicConnection.closed) this.markClosed(undefined);
  }

  /** Where the peer's packets come from now (may change when it migrates). */
  public get remoteAddress(): Address {
    return toAddress(this.quicConnection.remoteHost, this.quicConnection.remotePort);
  }

  public get closed(): boolean {
    return this._closed;
  }

  /**
   * Opens a bidirectional stream. When the peer's stream limit is reached it
   * waits for one of our streams to finish (or the context to end) instead
   * of failing.
   */
  public async openStream(ctx: Partial<ContextTimedInput> = {}): Promise<Stream> {
    const timer = typeof ctx.timer === 'number' ? ctx.timer : 15_000;
    const deadline = Date.now() + timer;
    for (;;) {
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
      let stream: QUICStream;
      try {
        stream = this.quicConnection.newStream('bidi');
      } catch (e) {
        if (e instanceof quicErrors.ErrorQUICStreamLimit) {
          if (Date.now() >= deadline) {
            throw new baseErrors.ErrorTimeout(`No stream credit from the peer within ${timer} ms`, {
              cause: e,
            });
          }
          await this.waitForStreamSlot(Math.min(50, deadline - Date.now()), ctx.signal);
          continue;
        }
        if (this._closed || this.quicConnection.closed) {
          throw new baseErrors.ErrorConnectionClosed(`Connection is closed`, { cause: e });
        }
        throw new baseErrors.ErrorStream(`Cannot open a stream: ${(e as Error).message}`, {
          cause: e,
        });
      }
      this.openStreams++;
      void stream.closedP.finally(() => {
        this.openStreams--;
        const waiters = this.slotWaiters.splice(0);
        for (const w of waiters) w();
      });
      return stream;
    }
  }

  protected waitForStreamSlot(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.max(1, ms));
      signal?.addEventListener('abort', done, { once: true });
      this.slotWaiters.push(done);
    });
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
    if (!this._closed) this.markClosed(reason);
    await this.destroyQUIC(true).catch(() => {});
  }

  protected async readAccept(stream: QUICStream): Promise<void> {
    try {
      const reader = stream.readable.getReader();
      const first = await reader.read();
      if (!first.done && first.value.byteLength > 0 && first.value[0] === acceptMarker) {
        this.resolveAccepted();
      } else {
        this.rejectAccepted(
          new baseErrors.ErrorConnectionRejectedByPeer('Peer sent a malformed accept marker'),
        );
      }
      reader.releaseLock();
      stream.cancel();
    } catch (e) {
      if (!this.acceptSettled) {
        this.rejectAccepted(
          new baseErrors.ErrorConnectionClosed('Connection closed before the peer accepted it', {
            cause: e,
          }),
        );
      }
    }
  }

  /** Server side: tells the dialler its certificate was accepted. */
  public async sendAccept(): Promise<void> {
    const stream = this.quicConnection.newStream('uni');
    const writer = stream.writable.getWriter();
    await writer.write(Uint8Array.of(acceptMarker));
    await writer.close();
  }

  protected markClosed(reason: Error | undefined): void {
    if (this._closed) return;
    this._closed = true;
    this.closeReason = reason;
    if (!this.acceptSettled) {
      this.rejectAccepted(
        reason ??
          new baseErrors.ErrorConnectionClosed('Connection closed before the peer accepted it'),
      );
    }
    for (const s of this.pendingStreams) s.cancel(reason);
    this.pendingStreams = [];
    const handlers = [...this.closeHandlers];
    this.closeHandlers.clear();
    for (const h of handlers) h(reason);
  }
}

export default QUICNodeConnection;
export { closeReasonFromQUIC, acceptMarker, acceptStreamId };
