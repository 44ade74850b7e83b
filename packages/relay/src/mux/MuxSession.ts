import type { Clock, Stream, TimerHandle, Unsubscribe } from '@node-network/network-interface';
import type { Frame } from './frames.js';
import { errors as baseErrors } from '@node-network/network-interface';
import {
  FrameDecoder,
  FrameType,
  encodeFrame,
  maxFramePayload,
  readU32,
  reasonBytes,
  u32,
} from './frames.js';
import { ErrorMuxIdleTimeout, ErrorMuxProtocol } from '../errors.js';

/** The byte pipe a session runs over (the cleartext side of the end-to-end TLS tunnel). */
type MuxTransport = {
  /** Queues `bytes` in order; resolves once the pipe can take more (back-pressure). */
  write(bytes: Uint8Array): Promise<void>;
  /** Tears the pipe down. */
  close(reason?: Error): void;
};

type MuxConfig = {
  /** Bytes a stream's sender may have unread at the receiver. */
  streamWindow: number;
  /** Streams the peer may have open at once; more are reset. */
  maxStreams: number;
  /** A PING goes out this often, ms. */
  keepAliveTime: number;
  /** The session closes when nothing arrived for this long, ms. */
  idleTimeout: number;
};

const muxConfigDefault: MuxConfig = {
  streamWindow: 4 * 1024 * 1024,
  maxStreams: 1000,
  keepAliveTime: 10_000,
  idleTimeout: 30_000,
};

/**
 * One stream of a session. Each direction ends on its own, as in QUIC:
 * closing `writable` sends END, aborting it RESET (the peer's read fails);
 * cancelling `readable` sends STOP (the peer's writes fail); `cancel` does both.
 */
class MuxStream implements Stream {
  public readonly id: number;
  public readonly readable: ReadableStream<Uint8Array>;
  public readonly writable: WritableStream<Uint8Array>;
  protected session: MuxSession;
  protected queue: Array<Uint8Array> = [];
  protected queued = 0;
  protected unacked = 0;
  protected readEnded = false;
  protected writeEnded = false;
  protected readError?: Error;
  protected writeError?: Error;
  protected wakeReader?: () => void;
  protected credit: number;
  protected wakeWriter?: () => void;
  protected readController?: ReadableStreamDefaultController<Uint8Array>;
  protected writeController?: WritableStreamDefaultController;

  public constructor(session: MuxSession, id: number, window: number) {
    this.session = session;
    this.id = id;
    this.credit = window;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.readController = controller;
        },
        pull: async (controller) => {
          while (this.queue.length === 0 && !this.readEnded && this.readError == null) {
            await new Promise<void>((resolve) => (this.wakeReader = resolve));
          }
          if (this.queue.length > 0) {
            const chunk = this.queue.shift()!;
            this.queued -= chunk.length;
            controller.enqueue(chunk);
            this.consumed(chunk.length);
          } else if (this.readError != null) {
            controller.error(this.readError);
          } else {
            controller.close();
          }
          this.session.settle(this);
        },
        cancel: (reason) => this.stopReading(reason),
      },
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      start: (controller) => {
        this.writeController = controller;
      },
      write: async (chunk) => {
        for (let off = 0; off < chunk.length;) {
          while (this.credit === 0 && this.writeError == null) {
            await new Promise<void>((resolve) => (this.wakeWriter = resolve));
          }
          if (this.writeError != null) throw this.writeError;
          const n = Math.min(chunk.length - off, this.credit, maxFramePayload);
          this.credit -= n;
          await this.session.send({
            type: FrameType.DATA,
            streamId: this.id,
            payload: chunk.subarray(off, off + n),
          });
          off += n;
        }
      },
      close: async () => {
        if (this.writeError != null) throw this.writeError;
        this.writeEnded = true;
        await this.session.send({
          type: FrameType.END,
          streamId: this.id,
          payload: new Uint8Array(),
        });
        this.session.settle(this);
      },
      abort: (reason) => this.abortWriting(reason),
    });
  }

  public cancel(reason?: unknown): void {
    this.abortWriting(reason);
    this.stopReading(reason);
  }

  public get done(): boolean {
    const readDone = this.readError != null || (this.readEnded && this.queue.length === 0);
    return readDone && (this.writeEnded || this.writeError != null);
  }

  /** Bytes the peer sent; more than the window we granted is a protocol violation. */
  public receiveData(payload: Uint8Array): void {
    if (this.readEnded) throw new ErrorMuxProtocol(`Data on stream ${this.id} after its end`);
    if (this.queued + this.unacked + payload.length > this.session.config.streamWindow) {
      throw new ErrorMuxProtocol(`Stream ${this.id} exceeded its flow-control window`);
    }
    // We stopped reading: the peer will stop when our STOP arrives; drop what is in flight.
    if (this.readError != null) return;
    this.queue.push(payload);
    this.queued += payload.length;
    this.wake();
  }

  public receiveEnd(): void {
    this.readEnded = true;
    this.wake();
    this.session.settle(this);
  }

  public receiveCredit(n: number): void {
    this.credit += n;
    this.wakeWrite();
  }

  /** The peer aborted its direction: our reads fail. */
  public receiveReset(reason: string): void {
    if (this.readEnded || this.readError != null) return;
    this.failRead(
      new baseErrors.ErrorStreamReset(`Peer reset stream ${this.id}: ${reason}`, {
        data: { direction: 'read', reason },
      }),
    );
  }

  /** The peer reads no more: our writes fail. */
  public receiveStop(reason: string): void {
    if (this.writeEnded || this.writeError != null) return;
    this.writeError = new baseErrors.ErrorStreamReset(
      `Peer stopped reading stream ${this.id}: ${reason}`,
      { data: { direction: 'write', reason } },
    );
    this.writeController?.error(this.writeError);
    this.wakeWrite();
    this.session.settle(this);
  }

  /** Fails both directions with `error` (the session died). */
  public fail(error: Error): void {
    if (this.writeError == null && !this.writeEnded) {
      this.writeError = error;
      // Error the writable now, not at its next write: a pipe into it waiting on its source ends too.
      this.writeController?.error(error);
    }
    this.wakeWrite();
    if (this.readError == null) this.failRead(error);
    this.session.settle(this);
  }

  protected failRead(error: Error): void {
    const pending = !(this.readEnded && this.queue.length === 0);
    this.readError = error;
    this.queue = [];
    this.queued = 0;
    if (pending) {
      try {
        this.readController?.error(error);
      } catch {
        // already closed or errored
      }
    }
    this.wake();
    this.session.settle(this);
  }

  protected stopReading(reason: unknown): void {
    if (this.readError != null) return;
    const finished = this.readEnded && this.queue.length === 0;
    this.failRead(new baseErrors.ErrorStreamClosed(`Stream ${this.id} reading was cancelled`));
    if (!finished) this.sendReason(FrameType.STOP, reason);
  }

  protected abortWriting(reason: unknown): void {
    if (this.writeEnded || this.writeError != null) return;
    this.writeError = new baseErrors.ErrorStreamClosed(
      `Stream ${this.id} writing was aborted: ${reasonText(reason)}`,
    );
    this.wakeWrite();
    this.sendReason(FrameType.RESET, reason);
    this.session.settle(this);
  }

  protected sendReason(type: typeof FrameType.RESET | typeof FrameType.STOP, reason: unknown) {
    void this.session
      .send({ type, streamId: this.id, payload: reasonBytes(reasonText(reason)) })
      .catch(() => {});
  }

  protected consumed(n: number): void {
    this.unacked += n;
    // Grant credit back in quarter-window steps: few CREDIT frames, never a stall.
    if (this.unacked >= this.session.config.streamWindow / 4 && !this.readEnded) {
      const grant = this.unacked;
      this.unacked = 0;
      void this.session
        .send({ type: FrameType.CREDIT, streamId: this.id, payload: u32(grant) })
        .catch(() => {});
    }
  }

  protected wake(): void {
    const w = this.wakeReader;
    this.wakeReader = undefined;
    w?.();
  }

  protected wakeWrite(): void {
    const w = this.wakeWriter;
    this.wakeWriter = undefined;
    w?.();
  }
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason == null ? 'cancelled' : String(reason);
}

/**
 * Streams over one reliable byte pipe (yamux's job, in a few frames): each
 * stream has its own credit-based flow control, so one slow reader never
 * stalls the others, and the pipe's own back-pressure holds writers. PINGs
 * keep the path warm and an idle timeout notices a dead one. Any protocol
 * violation by the peer closes the session with `ErrorMuxProtocol`.
 */
class MuxSession {
  public readonly config: MuxConfig;
  protected transport: MuxTransport;
  protected clock: Clock;
  protected decoder = new FrameDecoder();
  protected streams = new Map<number, MuxStream>();
  protected nextId: number;
  /** The highest stream id the peer opened. */
  protected peerMaxId = 0;
  protected streamHandlers = new Set<(stream: Stream) => void>();
  protected closeHandlers = new Set<(reason: Error | undefined) => void>();
  protected closeReason?: { reason: Error | undefined };
  protected lastReceived: number;
  protected keepAlive?: TimerHandle;
  protected pingCount = 0;
  protected _bytesReceived = 0;

  public constructor({
    role,
    transport,
    clock,
    config = {},
  }: {
    role: 'client' | 'server';
    transport: MuxTransport;
    clock: Clock;
    config?: Partial<MuxConfig>;
  }) {
    this.config = { ...muxConfigDefault, ...config };
    this.transport = transport;
    this.clock = clock;
    this.nextId = role === 'client' ? 1 : 2;
    this.lastReceived = clock.now();
    this.scheduleKeepAlive();
  }

  public get closed(): boolean {
    return this.closeReason != null;
  }

  public get openStreams(): number {
    return this.streams.size;
  }

  public get bytesReceived(): number {
    return this._bytesReceived;
  }

  public async openStream(): Promise<Stream> {
    if (this.closeReason != null) {
      throw new baseErrors.ErrorConnectionClosed('Relayed connection is closed', {
        cause: this.closeReason.reason,
      });
    }
    const id = this.nextId;
    this.nextId += 2;
    const stream = new MuxStream(this, id, this.config.streamWindow);
    this.streams.set(id, stream);
    await this.send({ type: FrameType.OPEN, streamId: id, payload: new Uint8Array() });
    return stream;
  }

  public onStream(handler: (stream: Stream) => void): Unsubscribe {
    this.streamHandlers.add(handler);
    return () => this.streamHandlers.delete(handler);
  }

  public onClose(handler: (reason: Error | undefined) => void): Unsubscribe {
    if (this.closeReason != null) {
      handler(this.closeReason.reason);
      return () => {};
    }
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  /** Bytes from the pipe. */
  public receive(chunk: Uint8Array): void {
    if (this.closeReason != null) return;
    this.lastReceived = this.clock.now();
    this._bytesReceived += chunk.length;
    try {
      for (const frame of this.decoder.push(chunk)) this.handle(frame);
    } catch (e) {
      this.close(e as Error);
    }
  }

  /** The pipe ended (gracefully: `undefined`) or broke. */
  public receiveEnd(error?: Error): void {
    this.finish(
      error ??
        new baseErrors.ErrorConnectionClosed('The relayed connection ended without a goodbye'),
      false,
    );
  }

  /** Closes the session and every stream: with `reason` an error, without it a graceful close. */
  public close(reason?: Error): void {
    if (this.closeReason != null) return;
    const text = reason?.message ?? '';
    void this.send({ type: FrameType.GOAWAY, streamId: 0, payload: reasonBytes(text) }).catch(
      () => {},
    );
    this.finish(reason, true);
  }

  /** @internal A frame out, in order. */
  public send(frame: Frame): Promise<void> {
    if (this.closeReason != null && frame.type !== FrameType.GOAWAY) {
      return Promise.reject(
        new baseErrors.ErrorConnectionClosed('Relayed connection is closed', {
          cause: this.closeReason.reason,
        }),
      );
    }
    return this.transport.write(encodeFrame(frame));
  }

  /** @internal A stream that finished both ways leaves the table. */
  public settle(stream: MuxStream): void {
    if (stream.done && this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
  }

  protected handle(frame: Frame): void {
    const { type, streamId, payload } = frame;
    switch (type) {
      case FrameType.PING:
        void this.send({ type: FrameType.PONG, streamId: 0, payload }).catch(() => {});
        return;
      case FrameType.PONG:
        return;
      case FrameType.GOAWAY: {
        const text = new TextDecoder().decode(payload);
        this.finish(
          text === ''
            ? undefined
            : new baseErrors.ErrorConnectionClosed(`Peer closed the relayed connection: ${text}`),
          false,
        );
        return;
      }
      case FrameType.OPEN:
        this.handleOpen(streamId);
        return;
    }
    const stream = this.streams.get(streamId);
    if (stream == null) {
      // Frames for a stream we reset or finished may still be in flight; never for one not opened.
      const ours = streamId % 2 === this.nextId % 2;
      if (ours ? streamId >= this.nextId : streamId > this.peerMaxId) {
        throw new ErrorMuxProtocol(`Frame type ${type} for stream ${streamId}, never opened`);
      }
      return;
    }
    switch (type) {
      case FrameType.DATA:
        stream.receiveData(payload);
        return;
      case FrameType.END:
        stream.receiveEnd();
        return;
      case FrameType.CREDIT: {
        const n = readU32(payload);
        if (n === 0) throw new ErrorMuxProtocol(`Zero credit on stream ${streamId}`);
        stream.receiveCredit(n);
        return;
      }
      case FrameType.RESET:
        stream.receiveReset(new TextDecoder().decode(payload));
        return;
      case FrameType.STOP:
        stream.receiveStop(new TextDecoder().decode(payload));
        return;
    }
  }

  protected handleOpen(streamId: number): void {
    if (streamId % 2 === this.nextId % 2) {
      throw new ErrorMuxProtocol(`Peer opened stream ${streamId}, which is ours to number`);
    }
    if (streamId <= this.peerMaxId) {
      throw new ErrorMuxProtocol(`Peer reopened stream ${streamId}`);
    }
    this.peerMaxId = streamId;
    let peerOpen = 0;
    for (const id of this.streams.keys()) if (id % 2 === streamId % 2) peerOpen++;
    if (peerOpen >= this.config.maxStreams) {
      const payload = reasonBytes(`more than ${this.config.maxStreams} streams open`);
      for (const type of [FrameType.RESET, FrameType.STOP]) {
        void this.send({ type, streamId, payload }).catch(() => {});
      }
      return;
    }
    const stream = new MuxStream(this, streamId, this.config.streamWindow);
    this.streams.set(streamId, stream);
    for (const h of this.streamHandlers) h(stream);
  }

  protected scheduleKeepAlive(): void {
    this.keepAlive = this.clock.setTimer(this.config.keepAliveTime, () => {
      if (this.closeReason != null) return;
      const silent = this.clock.now() - this.lastReceived;
      if (silent >= this.config.idleTimeout) {
        this.close(
          new ErrorMuxIdleTimeout(`Nothing arrived through the relay for ${Math.round(silent)} ms`),
        );
        return;
      }
      void this.send({ type: FrameType.PING, streamId: 0, payload: u32(++this.pingCount) }).catch(
        () => {},
      );
      this.scheduleKeepAlive();
    });
  }

  protected finish(reason: Error | undefined, local: boolean): void {
    if (this.closeReason != null) return;
    this.closeReason = { reason };
    this.keepAlive?.cancel();
    const streamError = new baseErrors.ErrorConnectionClosed(
      `Relayed connection closed${reason != null ? `: ${reason.message}` : ''}`,
      { cause: reason },
    );
    for (const s of [...this.streams.values()]) s.fail(streamError);
    this.streams.clear();
    if (local) {
      // Let the GOAWAY out before the pipe goes.
      void Promise.resolve().then(() => this.transport.close(reason));
    } else {
      this.transport.close(reason);
    }
    for (const h of this.closeHandlers) h(reason);
    this.closeHandlers.clear();
  }
}

export default MuxSession;
export { MuxStream, muxConfigDefault };
export type { MuxTransport, MuxConfig };
