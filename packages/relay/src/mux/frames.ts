import { ErrorMuxProtocol } from '../errors.js';

/**
 * The multiplexing frames a relayed connection carries inside its end-to-end
 * TLS tunnel: `type` (u8), `streamId` (u32, big-endian), payload length
 * (u32), payload. Stream 0 is the connection itself (PING, PONG, GOAWAY);
 * streams opened by the TLS client are odd, by the server even.
 */
const FrameType = {
  /** Opens stream `streamId` (empty payload). */
  OPEN: 1,
  /** Stream bytes (1 to `maxFramePayload`), within the credit the receiver granted. */
  DATA: 2,
  /** The sender's direction of the stream ended (empty payload). */
  END: 3,
  /** The sender aborts its direction of the stream; payload is a UTF-8 reason (at most `maxReasonBytes`). */
  RESET: 4,
  /** Grants the sender u32 more bytes on the stream (payload: 4 bytes, > 0). */
  CREDIT: 5,
  /** Liveness probe on stream 0 (payload: 4 bytes, echoed by PONG). */
  PING: 6,
  PONG: 7,
  /** The connection closes; payload is a UTF-8 reason. Stream 0. */
  GOAWAY: 8,
  /** The sender will read no more of the stream: the receiver stops writing. Payload: a reason. */
  STOP: 9,
} as const;

type FrameTypeNumber = (typeof FrameType)[keyof typeof FrameType];

type Frame = { type: FrameTypeNumber; streamId: number; payload: Uint8Array };

const headerBytes = 9;
const maxFramePayload = 64 * 1024;
const maxReasonBytes = 256;
const maxStreamId = 0xffff_ffff;

function encodeFrame(frame: Frame): Uint8Array {
  const out = new Uint8Array(headerBytes + frame.payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, frame.type);
  view.setUint32(1, frame.streamId);
  view.setUint32(5, frame.payload.length);
  out.set(frame.payload, headerBytes);
  return out;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function readU32(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
}

function reasonBytes(reason: string): Uint8Array {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= maxReasonBytes) return bytes;
  // Cut on a character boundary: drop a partial UTF-8 sequence at the end.
  let end = maxReasonBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** Checks what a frame of `type` may carry; throws `ErrorMuxProtocol` otherwise. */
function checkFrame(type: number, streamId: number, length: number): void {
  const fail = (why: string) => {
    throw new ErrorMuxProtocol(
      `Bad frame (type ${type}, stream ${streamId}, ${length} bytes): ${why}`,
    );
  };
  const connectionLevel =
    type === FrameType.PING || type === FrameType.PONG || type === FrameType.GOAWAY;
  switch (type) {
    case FrameType.OPEN:
    case FrameType.END:
      if (length !== 0) fail('must be empty');
      break;
    case FrameType.DATA:
      if (length === 0 || length > maxFramePayload)
        fail(`payload must be 1 to ${maxFramePayload} bytes`);
      break;
    case FrameType.RESET:
    case FrameType.STOP:
    case FrameType.GOAWAY:
      if (length > maxReasonBytes) fail(`reason longer than ${maxReasonBytes} bytes`);
      break;
    case FrameType.CREDIT:
    case FrameType.PING:
    case FrameType.PONG:
      if (length !== 4) fail('payload must be 4 bytes');
      break;
    default:
      fail('unknown type');
  }
  if (connectionLevel && streamId !== 0) fail('belongs on stream 0');
  if (!connectionLevel && streamId === 0) fail('needs a stream');
}

/**
 * Incremental decoder: feed it bytes as they arrive, take whole frames out.
 * Any malformed frame throws `ErrorMuxProtocol`; after that the decoder is
 * poisoned (the connection must close).
 */
class FrameDecoder {
  protected chunks: Array<Uint8Array> = [];
  protected buffered = 0;
  protected failed?: Error;

  /** Bytes held that do not yet make a whole frame. */
  public get pending(): number {
    return this.buffered;
  }

  public push(chunk: Uint8Array): Array<Frame> {
    if (this.failed != null) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Array<Frame> = [];
    try {
      while (this.buffered >= headerBytes) {
        const header = this.peek(headerBytes);
        const view = new DataView(header.buffer, header.byteOffset, headerBytes);
        const type = view.getUint8(0);
        const streamId = view.getUint32(1);
        const length = view.getUint32(5);
        checkFrame(type, streamId, length);
        if (this.buffered < headerBytes + length) break;
        const bytes = this.take(headerBytes + length);
        frames.push({
          type: type as FrameTypeNumber,
          streamId,
          payload: bytes.slice(headerBytes),
        });
      }
    } catch (e) {
      this.failed = e as Error;
      this.chunks = [];
      this.buffered = 0;
      throw e;
    }
    return frames;
  }

  protected peek(n: number): Uint8Array {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const out = new Uint8Array(n);
    let off = 0;
    for (const c of this.chunks) {
      const part = c.subarray(0, n - off);
      out.set(part, off);
      off += part.length;
      if (off === n) break;
    }
    return out;
  }

  protected take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first.length >= n) {
      this.chunks[0] = first.subarray(n);
      if (this.chunks[0].length === 0) this.chunks.shift();
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const part = c.subarray(0, n - off);
      out.set(part, off);
      off += part.length;
      if (part.length === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(part.length);
    }
    this.buffered -= n;
    return out;
  }
}

export {
  FrameType,
  FrameDecoder,
  encodeFrame,
  checkFrame,
  u32,
  readU32,
  reasonBytes,
  headerBytes,
  maxFramePayload,
  maxReasonBytes,
  maxStreamId,
};
export type { Frame, FrameTypeNumber };
