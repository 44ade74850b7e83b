import { describe, test, expect } from '@jest/globals';
import fc from 'fast-check';
import { VirtualClock } from '@node-network/netsim';
import { errors as baseErrors } from '@node-network/network-interface';
import MuxSession from '../src/mux/MuxSession.js';
import { FrameDecoder, FrameType, encodeFrame, maxFramePayload } from '../src/mux/frames.js';
import type { Frame } from '../src/mux/frames.js';
import { ErrorMuxIdleTimeout, ErrorMuxProtocol } from '../src/errors.js';

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constantFrom(FrameType.OPEN, FrameType.END),
    streamId: fc.integer({ min: 1, max: 0xffff_ffff }),
    payload: fc.constant(new Uint8Array()),
  }),
  fc.record({
    type: fc.constant(FrameType.DATA),
    streamId: fc.integer({ min: 1, max: 0xffff_ffff }),
    payload: fc.uint8Array({ minLength: 1, maxLength: 2048 }),
  }),
  fc.record({
    type: fc.constant(FrameType.CREDIT),
    streamId: fc.integer({ min: 1, max: 0xffff_ffff }),
    payload: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  }),
  fc.record({
    type: fc.constantFrom(FrameType.PING, FrameType.PONG),
    streamId: fc.constant(0),
    payload: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  }),
  fc.record({
    type: fc.constantFrom(FrameType.RESET, FrameType.STOP),
    streamId: fc.integer({ min: 1, max: 0xffff_ffff }),
    payload: fc.uint8Array({ maxLength: 256 }),
  }),
  fc.record({
    type: fc.constantFrom(FrameType.GOAWAY),
    streamId: fc.constant(0),
    payload: fc.uint8Array({ maxLength: 256 }),
  }),
) as fc.Arbitrary<Frame>;

/** Cuts `bytes` at the given points. */
function cut(bytes: Uint8Array, points: Array<number>): Array<Uint8Array> {
  const ps = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Array<Uint8Array> = [];
  let last = 0;
  for (const p of [...ps, bytes.length]) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  return out;
}

function concat(parts: Array<Uint8Array>): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe('mux frames', () => {
  test('any frames, cut anywhere, decode to themselves', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat()), (frames, points) => {
        const wire = concat(frames.map(encodeFrame));
        const d = new FrameDecoder();
        const got: Array<Frame> = [];
        for (const piece of cut(wire, points)) got.push(...d.push(piece));
        expect(
          got.map((f) => [f.type, f.streamId, Buffer.from(f.payload).toString('hex')]),
        ).toEqual(frames.map((f) => [f.type, f.streamId, Buffer.from(f.payload).toString('hex')]));
        expect(d.pending).toBe(0);
      }),
    );
  });

  test('garbage yields frames or ErrorMuxProtocol, nothing else, and poisons the decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const d = new FrameDecoder();
        try {
          d.push(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(ErrorMuxProtocol);
          expect(() => d.push(new Uint8Array(1))).toThrow(ErrorMuxProtocol);
        }
      }),
    );
  });

  test('oversized, misplaced and unknown frames are refused at the header', () => {
    const header = (type: number, streamId: number, length: number) => {
      const b = new Uint8Array(9);
      const v = new DataView(b.buffer);
      v.setUint8(0, type);
      v.setUint32(1, streamId);
      v.setUint32(5, length);
      return b;
    };
    // The length is checked before any payload is buffered: a 4 GiB claim costs nothing.
    expect(() => new FrameDecoder().push(header(FrameType.DATA, 1, 0xffff_ffff))).toThrow(
      /payload must be 1 to 65536/,
    );
    expect(() => new FrameDecoder().push(header(FrameType.DATA, 1, maxFramePayload + 1))).toThrow(
      ErrorMuxProtocol,
    );
    expect(() => new FrameDecoder().push(header(FrameType.DATA, 0, 10))).toThrow(/needs a stream/);
    expect(() => new FrameDecoder().push(header(FrameType.PING, 3, 4))).toThrow(/stream 0/);
    expect(() => new FrameDecoder().push(header(99, 1, 0))).toThrow(/unknown type/);
    expect(() => new FrameDecoder().push(header(FrameType.OPEN, 1, 3))).toThrow(/must be empty/);
  });
});

/** Two sessions joined by an in-memory pipe; what one writes the other receives, in order. */
function pair(
  clock: VirtualClock,
  config: Partial<ConstructorParameters<typeof MuxSession>[0]['config']> = {},
  tap?: (bytes: Uint8Array, from: 'a' | 'b') => Uint8Array | undefined,
) {
  const ends: { a?: MuxSession; b?: MuxSession } = {};
  const wire = (to: () => MuxSession, from: 'a' | 'b') => ({
    write: async (bytes: Uint8Array) => {
      const out = tap != null ? tap(bytes, from) : bytes;
      // Delivered on a later turn, as a socket would.
      if (out != null) setImmediate(() => to().receive(out));
    },
    close: () => setImmediate(() => to().receiveEnd()),
  });
  const a = new MuxSession({ role: 'client', transport: wire(() => ends.b!, 'a'), clock, config });
  const b = new MuxSession({ role: 'server', transport: wire(() => ends.a!, 'b'), clock, config });
  Object.assign(ends, { a, b });
  return { a, b };
}

async function readAll(r: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Array<Uint8Array> = [];
  for await (const c of r as any) parts.push(c);
  return concat(parts);
}

describe('MuxSession', () => {
  test('streams both ways carry their bytes intact, whatever the writes and the window', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.uint8Array({ minLength: 1, maxLength: 5000 }), { maxLength: 6 }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer({ min: 4096, max: 65536 }),
        async (streams, window) => {
          const clock = new VirtualClock();
          const { a, b } = pair(clock, { streamWindow: window });
          const served: Array<Promise<void>> = [];
          b.onStream((s) => {
            // Echo every stream back.
            served.push(s.readable.pipeTo(s.writable));
          });
          const results = await Promise.all(
            streams.map(async (chunks) => {
              const s = await a.openStream();
              const reading = readAll(s.readable);
              const w = s.writable.getWriter();
              for (const c of chunks) await w.write(c);
              await w.close();
              return reading;
            }),
          );
          results.forEach((got, i) =>
            expect(Buffer.from(got)).toEqual(Buffer.from(concat(streams[i]))),
          );
          await Promise.all(served);
          expect(a.openStreams).toBe(0);
          a.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  test('a slow reader holds only its own stream: flow control per stream', async () => {
    const clock = new VirtualClock();
    const { a, b } = pair(clock, { streamWindow: 8192 });
    const inbound: Array<{ readable: ReadableStream<Uint8Array> }> = [];
    b.onStream((s) => inbound.push(s));
    const stuck = await a.openStream();
    const stuckWriter = stuck.writable.getWriter();
    // Nobody reads `stuck`: its writer blocks once the 8 KiB window is used.
    let stuckWritten = 0;
    void (async () => {
      for (;;) {
        await stuckWriter.write(new Uint8Array(1024));
        stuckWritten += 1024;
      }
    })().catch(() => {});
    const fine = await a.openStream();
    const w = fine.writable.getWriter();
    const writing = w.write(new Uint8Array(100_000).fill(7)).then(() => w.close());
    while (inbound.length < 2) await new Promise((r) => setTimeout(r, 1));
    const got = await readAll(inbound[1].readable);
    await writing;
    expect(got.length).toBe(100_000);
    expect(stuckWritten).toBeLessThanOrEqual(8192);
    a.close();
  });

  test('a peer that sends past its window is a protocol violation: the session closes', async () => {
    const clock = new VirtualClock();
    const { a, b } = pair(clock, { streamWindow: 4096 });
    const closed = new Promise<Error | undefined>((r) => b.onClose(r));
    await a.openStream();
    // Hand-made DATA beyond the window.
    await a.send({ type: FrameType.DATA, streamId: 1, payload: new Uint8Array(5000) });
    const reason = await closed;
    expect(reason).toBeInstanceOf(ErrorMuxProtocol);
    expect(reason!.message).toMatch(/flow-control window/);
  });

  test('frames for a stream never opened close the session; stream ids are checked', async () => {
    const clock = new VirtualClock();
    const { a, b } = pair(clock);
    const closed = new Promise<Error | undefined>((r) => b.onClose(r));
    await a.send({ type: FrameType.DATA, streamId: 41, payload: new Uint8Array(1) });
    expect(await closed).toBeInstanceOf(ErrorMuxProtocol);
    const p2 = pair(clock);
    const closed2 = new Promise<Error | undefined>((r) => p2.b.onClose(r));
    // The client numbers odd streams; an even OPEN from it is refused.
    await p2.a.send({ type: FrameType.OPEN, streamId: 2, payload: new Uint8Array() });
    expect((await closed2)!.message).toMatch(/ours to number/);
  });

  test('more streams than allowed are reset, the session lives on', async () => {
    const clock = new VirtualClock();
    const { a, b } = pair(clock, { maxStreams: 2 });
    b.onStream(() => {});
    const s1 = await a.openStream();
    await a.openStream();
    const s3 = await a.openStream();
    await expect(s3.readable.getReader().read()).rejects.toThrow(/more than 2 streams/);
    expect(a.closed).toBe(false);
    expect(s1.readable).toBeDefined();
    a.close();
  });

  test('cancel resets the stream on both sides; close fails open streams with ErrorConnectionClosed', async () => {
    const clock = new VirtualClock();
    const { a, b } = pair(clock);
    const inbound: Array<{ readable: ReadableStream<Uint8Array> }> = [];
    b.onStream((s) => inbound.push(s));
    const s = await a.openStream();
    s.cancel(new Error('changed my mind'));
    await new Promise((r) => setTimeout(r, 5));
    await expect(inbound[0].readable.getReader().read()).rejects.toThrow(/changed my mind/);
    const s2 = await a.openStream();
    const reading = s2.readable.getReader().read();
    const bClosed = new Promise<Error | undefined>((r) => b.onClose(r));
    a.close();
    await expect(reading).rejects.toBeInstanceOf(baseErrors.ErrorConnectionClosed);
    // A graceful close reaches the peer as a graceful close.
    expect(await bClosed).toBeUndefined();
    await expect(a.openStream()).rejects.toBeInstanceOf(baseErrors.ErrorConnectionClosed);
  });

  test('keepalive PINGs hold a quiet session open; silence past the idle timeout closes it', async () => {
    const clock = new VirtualClock();
    const { a, b } = pair(clock, { keepAliveTime: 1_000, idleTimeout: 3_000 });
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
    expect(a.closed || b.closed).toBe(false);
    // Cut the wire: nothing arrives any more.
    const closed = new Promise<Error | undefined>((r) => a.onClose(r));
    (b as any).transport.write = async () => {};
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      await new Promise((r) => setImmediate(r));
    }
    expect(await closed).toBeInstanceOf(ErrorMuxIdleTimeout);
  });
});
