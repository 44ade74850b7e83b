/**
 * Collects the messages one side sends during an event-loop turn and posts
 * them as one batch (`setImmediate`), so the threads exchange one message per
 * turn, never one per datagram or per chunk. Stream data is coalesced per
 * stream: every chunk queued for stream `s` in a turn goes in one `data`
 * message. A chunk this side owns outright (its own whole ArrayBuffer, e.g. a
 * QUIC read) is transferred as it is; any other chunk is copied once into a
 * segment buffer shared with the next small chunks of the same stream, and the
 * segment is transferred. Credits for one stream in a turn add up into one
 * `credit` message.
 */
type DataMessage = { t: 'data'; s: number; chunks: Array<Uint8Array> };
type CreditMessage = { t: 'credit'; s: number; n: number };

/** A segment being filled with copies of small chunks. */
type Segment = { buf: Uint8Array; used: number; index: number };

const segmentSize = 64 * 1024;

class Outbox<M extends { t: string }> {
  protected post: (batch: Array<M>, transfer: Array<ArrayBuffer>) => void;
  protected messages: Array<M> = [];
  protected transfer: Array<ArrayBuffer> = [];
  protected transferring = new Set<ArrayBuffer>();
  protected dataOf = new Map<number, DataMessage>();
  protected segmentOf = new Map<number, Segment>();
  protected creditOf = new Map<number, CreditMessage>();
  protected scheduled?: ReturnType<typeof setImmediate>;
  protected closed = false;

  public constructor(post: (batch: Array<M>, transfer: Array<ArrayBuffer>) => void) {
    this.post = post;
  }

  public send(message: M): void {
    if (this.closed) return;
    this.messages.push(message);
    this.schedule();
  }

  /** Queues `chunk` for stream `s`; `owned`: nobody else holds it, so it may be transferred. */
  public data(s: number, chunk: Uint8Array, owned = false): void {
    if (this.closed || chunk.byteLength === 0) return;
    let m = this.dataOf.get(s);
    if (m == null) {
      m = { t: 'data', s, chunks: [] };
      this.dataOf.set(s, m);
      this.messages.push(m as unknown as M);
    }
    const buffer = chunk.buffer;
    if (
      owned &&
      buffer instanceof ArrayBuffer &&
      chunk.byteOffset === 0 &&
      chunk.byteLength === buffer.byteLength &&
      !this.transferring.has(buffer)
    ) {
      m.chunks.push(chunk);
      this.transfer.push(buffer);
      this.transferring.add(buffer);
      this.segmentOf.delete(s);
    } else {
      let seg = this.segmentOf.get(s);
      if (
        seg == null ||
        seg.index !== m.chunks.length - 1 ||
        seg.buf.byteLength - seg.used < chunk.byteLength
      ) {
        seg = {
          buf: new Uint8Array(Math.max(segmentSize, chunk.byteLength)),
          used: 0,
          index: m.chunks.length,
        };
        m.chunks.push(seg.buf);
        this.segmentOf.set(s, seg);
        this.transfer.push(seg.buf.buffer as ArrayBuffer);
      }
      seg.buf.set(chunk, seg.used);
      seg.used += chunk.byteLength;
      m.chunks[seg.index] = seg.buf.subarray(0, seg.used);
    }
    this.schedule();
  }

  /** Gives `n` bytes of credit for stream `s`. */
  public credit(s: number, n: number): void {
    if (this.closed || n <= 0) return;
    const m = this.creditOf.get(s);
    if (m != null) {
      m.n += n;
      return;
    }
    const fresh: CreditMessage = { t: 'credit', s, n };
    this.creditOf.set(s, fresh);
    this.messages.push(fresh as unknown as M);
    this.schedule();
  }

  /** Posts what is queued now. */
  public flush(): void {
    if (this.scheduled != null) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.messages.length === 0) return;
    const batch = this.messages;
    const transfer = this.transfer;
    this.messages = [];
    this.transfer = [];
    this.transferring.clear();
    this.dataOf.clear();
    this.segmentOf.clear();
    this.creditOf.clear();
    if (this.closed) return;
    this.post(batch, transfer);
  }

  /** Drops everything queued and sends nothing more. */
  public close(): void {
    this.closed = true;
    if (this.scheduled != null) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.messages = [];
    this.transfer = [];
    this.transferring.clear();
    this.dataOf.clear();
    this.segmentOf.clear();
    this.creditOf.clear();
  }

  protected schedule(): void {
    if (this.scheduled == null) this.scheduled = setImmediate(() => this.flush());
  }
}

export default Outbox;
