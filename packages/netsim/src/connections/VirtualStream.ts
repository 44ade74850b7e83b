import type { Stream } from '@node-network/network-interface';
import { errors as baseErrors } from '@node-network/network-interface';

/** What a stream needs from its connection. */
type StreamOwner = {
  /** Sends one reliable frame; resolves once it is in flight (back-pressure). */
  sendFrame(kind: 'data' | 'fin' | 'reset', streamId: number, data?: Uint8Array): Promise<void>;
  streamDone(streamId: number): void;
};

/** Largest data frame; bigger writes are split. */
const maxFrameData = 16 * 1024;

/**
 * One stream of a simulated connection: ordered, reliable bytes both ways,
 * carried as frames of the connection's reliable packet sequence. Closing
 * the writable sends `fin`; `cancel` sends `reset` and errors both sides.
 */
class VirtualStream implements Stream {
  public readonly id: number;
  public readonly readable: ReadableStream<Uint8Array>;
  public readonly writable: WritableStream<Uint8Array>;
  protected owner: StreamOwner;
  protected readController!: ReadableStreamDefaultController<Uint8Array>;
  protected writeController!: WritableStreamDefaultController;
  protected readDone = false;
  protected writeDone = false;
  /** Set once the stream can no longer write: why. */
  protected writeError?: Error;

  public constructor(owner: StreamOwner, id: number) {
    this.owner = owner;
    this.id = id;
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.readController = controller;
      },
      cancel: () => {
        // We stop reading; frames that still arrive are dropped.
        this.finishRead();
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      start: (controller) => {
        this.writeController = controller;
      },
      write: async (chunk) => {
        if (this.writeError != null) throw this.writeError;
        for (let o = 0; o < chunk.byteLength; o += maxFrameData) {
          await this.owner.sendFrame('data', this.id, chunk.subarray(o, o + maxFrameData));
        }
      },
      close: async () => {
        if (this.writeError != null) throw this.writeError;
        await this.owner.sendFrame('fin', this.id);
        this.finishWrite();
      },
      abort: async () => {
        if (this.writeError == null) await this.owner.sendFrame('reset', this.id).catch(() => {});
        this.finishWrite();
      },
    });
  }

  public cancel(reason?: unknown): void {
    const error = new baseErrors.ErrorStreamClosed('Stream cancelled', { cause: reason });
    if (!this.writeDone || !this.readDone)
      void this.owner.sendFrame('reset', this.id).catch(() => {});
    this.fail(error);
  }

  /** A frame for this stream arrived, in order. */
  public handleFrame(kind: 'data' | 'fin' | 'reset', data: Uint8Array): void {
    if (kind === 'reset') {
      this.fail(
        new baseErrors.ErrorStreamReset('The peer reset the stream', {
          data: { direction: 'read', reason: 'unspecified' },
        }),
      );
      return;
    }
    if (this.readDone) return;
    if (kind === 'data') {
      this.readController.enqueue(data);
      return;
    }
    this.readController.close();
    this.finishRead();
  }

  /** Ends both directions with `error` (a reset, or the connection closing). */
  public fail(error: Error): void {
    if (!this.readDone) {
      this.readController.error(error);
      this.finishRead();
    }
    if (this.writeError == null && !this.writeDone) {
      this.writeError = error;
      // Errored now, as QUIC does, not at the next write: a pipe into it ends too.
      this.writeController.error(error);
    }
    if (this.writeError == null) this.writeError = error;
    this.finishWrite();
  }

  protected finishRead(): void {
    this.readDone = true;
    if (this.writeDone) this.owner.streamDone(this.id);
  }

  protected finishWrite(): void {
    this.writeDone = true;
    if (this.readDone) this.owner.streamDone(this.id);
  }
}

export default VirtualStream;
export { maxFrameData };
export type { StreamOwner };
