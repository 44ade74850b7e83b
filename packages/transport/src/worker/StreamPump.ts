import type { Stream } from '@node-network/network-interface';
import type { StreamFromEngine, StreamToEngine, WireError } from './protocol.js';
import { fromWireError, toWireError } from './wireErrors.js';

/** How an engine-side pump reaches the main thread (an `Outbox` in practice). */
type PumpLink = {
  send(message: StreamFromEngine): void;
  data(s: number, chunk: Uint8Array, owned: boolean): void;
  credit(s: number, n: number): void;
};

/**
 * The engine's side of one stream: moves a QUIC stream's bytes to the main
 * thread and the main thread's bytes into it.
 *
 * It reads from QUIC only while fewer than `window` bytes it sent are unread
 * on the main side (the main side returns credit as its reader takes them);
 * otherwise it stops reading, QUIC's receive window fills and the peer stops.
 * Each chunk the main side sends is handed to QUIC's writer at once (the main
 * side never has more than `window` bytes out), and credit goes back as QUIC
 * takes them, a quarter window at a time.
 */
class StreamPump {
  public readonly s: number;
  protected stream: Stream;
  protected link: PumpLink;
  protected window: number;
  protected onDone: () => void;
  protected reader: ReadableStreamDefaultReader<Uint8Array>;
  protected writer: WritableStreamDefaultWriter<Uint8Array>;
  protected unread = 0;
  /** Credit earned (bytes QUIC took) and not yet returned. */
  protected credit = 0;
  protected wakeReader?: () => void;
  /** The main side no longer reads (cancelled): nothing more is sent. */
  protected readStopped = false;
  protected readDone = false;
  protected writeDone = false;

  public constructor({
    s,
    stream,
    link,
    window,
    onDone,
  }: {
    s: number;
    stream: Stream;
    link: PumpLink;
    window: number;
    onDone: () => void;
  }) {
    this.s = s;
    this.stream = stream;
    this.link = link;
    this.window = window;
    this.onDone = onDone;
    this.reader = stream.readable.getReader();
    this.writer = stream.writable.getWriter();
    void this.readLoop();
  }

  public handle(m: StreamToEngine): void {
    switch (m.t) {
      case 'data':
        if (this.writeDone) return;
        for (const chunk of m.chunks) {
          const n = chunk.byteLength;
          this.writer.write(chunk).then(
            () => this.returnCredit(n),
            (e) => this.writeFailed(e),
          );
        }
        return;
      case 'end':
        if (this.writeDone) return;
        this.writer.close().then(
          () => {
            if (this.writeDone) return;
            this.link.send({ t: 'ended', s: this.s });
            this.finishWrite();
          },
          (e) => this.writeFailed(e),
        );
        return;
      case 'abort':
        if (this.writeDone) return;
        this.finishWrite();
        this.writer.abort(reasonOf(m.reason)).catch(() => {});
        return;
      case 'rcancel':
        this.stopReading(m.reason);
        return;
      case 'scancel':
        this.readStopped = true;
        this.finishWrite();
        this.stream.cancel(reasonOf(m.reason));
        this.stopReading(m.reason);
        return;
      case 'credit':
        this.unread = Math.max(0, this.unread - m.n);
        this.wakeReader?.();
        return;
    }
  }

  /** The connection is gone: stop without telling the main side (it learns from the close). */
  public abandon(): void {
    this.readStopped = true;
    this.wakeReader?.();
    this.finishWrite();
    this.finishRead();
  }

  protected async readLoop(): Promise<void> {
    try {
      for (;;) {
        while (this.unread >= this.window && !this.readStopped) {
          await new Promise<void>((resolve) => {
            this.wakeReader = resolve;
          });
          this.wakeReader = undefined;
        }
        if (this.readStopped) break;
        let r: Awaited<ReturnType<typeof this.reader.read>>;
        try {
          r = await this.reader.read();
        } catch (e) {
          if (!this.readStopped) this.link.send({ t: 'rerr', s: this.s, error: toWireError(e) });
          break;
        }
        if (this.readStopped) break;
        if (r.done) {
          this.link.send({ t: 'fin', s: this.s });
          break;
        }
        this.unread += r.value.byteLength;
        // A QUIC read is a fresh buffer nobody else holds: it can be transferred.
        this.link.data(this.s, r.value, true);
      }
    } finally {
      this.finishRead();
    }
  }

  /**
   * Credit goes back in quarters of the window, not per chunk: the main side
   * still has three quarters to send meanwhile, and the threads exchange a
   * message per quarter window instead of one per write.
   */
  protected returnCredit(n: number): void {
    this.credit += n;
    if (this.credit < this.window / 4) return;
    this.link.credit(this.s, this.credit);
    this.credit = 0;
  }

  protected stopReading(reason: WireError | undefined): void {
    if (this.readStopped) return;
    this.readStopped = true;
    this.wakeReader?.();
    this.reader.cancel(reasonOf(reason)).catch(() => {});
  }

  protected writeFailed(e: unknown): void {
    if (this.writeDone) return;
    this.link.send({ t: 'werr', s: this.s, error: toWireError(e) });
    this.finishWrite();
  }

  protected finishRead(): void {
    if (this.readDone) return;
    this.readDone = true;
    if (this.writeDone) this.onDone();
  }

  protected finishWrite(): void {
    if (this.writeDone) return;
    this.writeDone = true;
    if (this.readDone) this.onDone();
  }
}

function reasonOf(w: WireError | undefined): Error | undefined {
  return w == null ? undefined : fromWireError(w);
}

export default StreamPump;
export type { PumpLink };
