import type { Stream } from '@node-network/network-interface';
import type { StreamFromEngine, StreamToEngine } from './protocol.js';
import { errors as baseErrors } from '@node-network/network-interface';
import { fromWireError, toWireError } from './wireErrors.js';
import TurnBudget from '../turnBudget.js';

/** Bytes the main thread's stream writes copy towards the worker per turn (all streams). */
const writeBudget = new TurnBudget(512 * 1024);

/** How a main-side stream reaches its engine (an `Outbox` in practice). */
type StreamLink = {
  send(message: StreamToEngine): void;
  data(s: number, chunk: Uint8Array): void;
  credit(s: number, n: number): void;
};

/**
 * The main thread's side of a QUIC stream that lives in a worker: a web
 * `ReadableStream` / `WritableStream` pair behind the `Stream` contract.
 *
 * Credit-based flow control in both directions, `window` bytes each:
 * - writes: a write resolves while fewer than `window` bytes are on their way
 *   to QUIC; beyond that it waits until the engine reports QUIC took some
 *   (`credit`), so a slow peer stops our writer.
 * - reads: the engine reads from QUIC only while fewer than `window` bytes
 *   wait here unread; our reader returns credit as it takes chunks (a quarter
 *   window at a time), so a slow reader here stops the engine reading, and
 *   QUIC's flow control stops the peer.
 * Neither side waits on credit the other holds back: the holder has less than
 * a quarter window, so the waiter has more than three quarters outstanding.
 */
class WorkerStream implements Stream {
  public readonly s: number;
  public readonly readable: ReadableStream<Uint8Array>;
  public readonly writable: WritableStream<Uint8Array>;
  protected link: StreamLink;
  protected window: number;
  protected onDone: () => void;
  protected readController!: ReadableStreamDefaultController<Uint8Array>;
  protected writeController!: WritableStreamDefaultController;
  /** Received, not yet taken by our reader. */
  protected queue: Array<Uint8Array> = [];
  protected finReceived = false;
  protected readDone = false;
  protected writeDone = false;
  protected writeError?: Error;
  /** Bytes written and not yet taken by QUIC. */
  protected inFlight = 0;
  /** Bytes our reader took and not yet returned to the engine as credit. */
  protected credit = 0;
  protected wakeReader?: () => void;
  protected wakeWriter?: () => void;
  protected endWaiter?: { resolve: () => void; reject: (e: Error) => void };

  public constructor({
    s,
    link,
    window,
    onDone,
  }: {
    s: number;
    link: StreamLink;
    window: number;
    /** Called once both directions are finished. */
    onDone: () => void;
  }) {
    this.s = s;
    this.link = link;
    this.window = window;
    this.onDone = onDone;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.readController = controller;
        },
        pull: (controller) => this.pull(controller),
        cancel: (reason) => {
          if (this.readDone) return;
          this.queue = [];
          this.link.send({ t: 'rcancel', s: this.s, reason: wireReason(reason) });
          this.finishRead();
        },
      },
      // Nothing is pulled ahead of a read: credit goes back exactly as the reader takes chunks.
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      start: (controller) => {
        this.writeController = controller;
      },
      write: (chunk) => this.write(chunk),
      close: () => this.close(),
      abort: (reason) => {
        if (this.writeDone) return;
        this.link.send({ t: 'abort', s: this.s, reason: wireReason(reason) });
        this.finishWrite(toError(reason));
      },
    });
  }

  /** Aborts both directions (the peer sees a reset and a stop-sending). */
  public cancel(reason?: unknown): void {
    const e = toError(reason);
    if (this.readDone && this.writeDone) return;
    this.link.send({ t: 'scancel', s: this.s, reason: wireReason(reason) });
    if (!this.readDone) {
      this.queue = [];
      this.readController.error(e);
      this.finishRead();
    }
    if (!this.writeDone) {
      this.writeController.error(e);
      this.finishWrite(e);
    }
  }

  /** A message from the engine about this stream. */
  public handle(m: StreamFromEngine): void {
    switch (m.t) {
      case 'data':
        if (this.readDone || this.finReceived) return;
        for (const c of m.chunks) if (c.byteLength > 0) this.queue.push(c);
        this.wakeReader?.();
        return;
      case 'fin':
        this.finReceived = true;
        this.wakeReader?.();
        return;
      case 'rerr':
        if (this.readDone) return;
        this.queue = [];
        this.readController.error(fromWireError(m.error));
        this.finishRead();
        return;
      case 'credit':
        this.inFlight = Math.max(0, this.inFlight - m.n);
        this.wakeWriter?.();
        return;
      case 'ended':
        this.endWaiter?.resolve();
        this.finishWrite(undefined);
        return;
      case 'werr': {
        if (this.writeDone) return;
        const e = fromWireError(m.error);
        this.writeController.error(e);
        this.endWaiter?.reject(e);
        this.finishWrite(e);
        return;
      }
    }
  }

  /**
   * The connection closed or its worker crashed: every pending read and write
   * rejects with `reason`. Data that already arrived in full (the peer ended
   * its direction) stays readable.
   */
  public fail(reason: Error): void {
    if (!this.readDone && !this.finReceived) {
      this.queue = [];
      this.readController.error(reason);
      this.finishRead();
    }
    if (!this.writeDone) {
      this.writeController.error(reason);
      this.endWaiter?.reject(reason);
      this.finishWrite(reason);
    }
  }

  public get done(): boolean {
    return this.readDone && this.writeDone;
  }

  protected async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      if (this.readDone) return;
      const chunk = this.queue.shift();
      if (chunk != null) {
        controller.enqueue(chunk);
        // Returned a quarter window at a time: the engine reads on meanwhile.
        this.credit += chunk.byteLength;
        if (this.credit >= this.window / 4) {
          this.link.credit(this.s, this.credit);
          this.credit = 0;
        }
        return;
      }
      if (this.finReceived) {
        controller.close();
        this.finishRead();
        return;
      }
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
      this.wakeReader = undefined;
    }
  }

  protected async write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError('A stream accepts Uint8Array chunks only');
    }
    while (this.inFlight >= this.window && !this.writeDone) {
      await new Promise<void>((resolve) => {
        this.wakeWriter = resolve;
      });
      this.wakeWriter = undefined;
    }
    if (this.writeDone) throw this.writeError ?? closedError();
    if (chunk.byteLength === 0) return;
    // Each write is a copy: a writer with credit to spare would otherwise hold the loop.
    const wait = writeBudget.take(chunk.byteLength);
    if (wait != null) {
      await wait;
      if (this.writeDone) throw this.writeError ?? closedError();
    }
    this.inFlight += chunk.byteLength;
    this.link.data(this.s, chunk);
  }

  protected close(): Promise<void> {
    if (this.writeDone) {
      return this.writeError != null ? Promise.reject(this.writeError) : Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.endWaiter = { resolve, reject };
      this.link.send({ t: 'end', s: this.s });
    });
  }

  protected finishRead(): void {
    if (this.readDone) return;
    this.readDone = true;
    this.wakeReader?.();
    if (this.writeDone) this.onDone();
  }

  protected finishWrite(error: Error | undefined): void {
    if (this.writeDone) return;
    this.writeDone = true;
    this.writeError = error;
    this.endWaiter = undefined;
    this.wakeWriter?.();
    if (this.readDone) this.onDone();
  }
}

function toError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  return new baseErrors.ErrorStreamClosed(
    reason == null ? 'Stream was cancelled' : `Stream was cancelled: ${String(reason)}`,
    { cause: reason },
  );
}

function closedError(): Error {
  return new baseErrors.ErrorStreamClosed('Stream is closed for writing');
}

function wireReason(reason: unknown) {
  return reason == null ? undefined : toWireError(reason);
}

export default WorkerStream;
export type { StreamLink };
