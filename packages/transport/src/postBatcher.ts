import type { GsoSend } from './gso.js';

/** Largest UDP GSO batch: it must fit one IP datagram (65,507 bytes of payload). */
const batchCapacity = 63 * 1024;

type SendOne = (data: Uint8Array, port: number, host: string, onError?: (e: Error) => void) => void;

/**
 * Gathers datagrams posted one by one (a relay forwarding a burst it read in
 * one batch) into UDP GSO batches: consecutive datagrams of equal size to one
 * destination (the last may be shorter) go in one `sendmsg`. A batch is sent
 * when the next datagram cannot join it, when it is full, and at the end of
 * the current task (a microtask), so nothing waits for a later turn. What the
 * kernel refuses as a batch goes one datagram at a time through `sendOne`,
 * which reports errors per datagram as before.
 */
class PostBatcher {
  /** Made on the first post: most ports (punch sockets) never post. */
  protected batch?: Buffer;
  protected length = 0;
  protected segment = 0;
  protected count = 0;
  protected port = 0;
  protected host = '';
  protected onErrors = new Set<(e: Error) => void>();
  protected scheduled = false;

  public constructor(
    protected gso: GsoSend,
    protected sendOne: SendOne,
  ) {}

  public post(data: Uint8Array, port: number, host: string, onError?: (e: Error) => void): void {
    const n = data.byteLength;
    if (n === 0) {
      // Nothing to segment: after what is gathered, on its own.
      this.flush();
      this.sendOne(data, port, host, onError);
      return;
    }
    if (
      this.count > 0 &&
      (port !== this.port ||
        host !== this.host ||
        n > this.segment ||
        this.length % this.segment !== 0 ||
        this.length + n > batchCapacity)
    ) {
      this.flush();
    }
    if (this.count === 0) {
      this.segment = n;
      this.port = port;
      this.host = host;
    }
    this.batch ??= Buffer.allocUnsafeSlow(batchCapacity);
    this.batch.set(data, this.length);
    this.length += n;
    this.count++;
    if (onError != null) this.onErrors.add(onError);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Sends what is gathered now (also before any send that must not overtake it). */
  public flush(): void {
    if (this.count === 0 || this.batch == null) return;
    const { batch, length, segment, port, host, count } = this;
    const onErrors = [...this.onErrors];
    this.length = 0;
    this.count = 0;
    this.onErrors.clear();
    const report = (e: Error) => {
      for (const f of onErrors) f(e);
    };
    if (count > 1 && this.gso(batch, length, segment, port, host)) return;
    // One datagram, or a refused batch: one at a time, each a copy (the batch buffer is reused).
    for (let off = 0; off < length; off += segment) {
      const end = Math.min(off + segment, length);
      this.sendOne(Buffer.from(batch.subarray(off, end)), port, host, report);
    }
  }
}

export default PostBatcher;
