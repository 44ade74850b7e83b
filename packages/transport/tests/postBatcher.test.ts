import { test as testProp, fc } from '@fast-check/jest';
import PostBatcher from '../src/postBatcher.js';
import UDPDatagramPort from '../src/UDPDatagramPort.js';

type Sent = { data: Buffer; port: number; host: string };

/** A batcher over recording fakes: what went as batches (cut into their segments) and what went alone. */
function recording(accept: (n: number) => boolean) {
  const wire: Array<Sent & { via: 'batch' | 'one' }> = [];
  const batches: Array<{ length: number; segment: number }> = [];
  const b = new PostBatcher(
    (data, length, segment, port, host) => {
      if (!accept(batches.length)) return false;
      batches.push({ length, segment });
      for (let off = 0; off < length; off += segment) {
        const data_ = Buffer.from(data.subarray(off, Math.min(off + segment, length)));
        wire.push({ data: data_, port, host, via: 'batch' });
      }
      return true;
    },
    (data, port, host) => wire.push({ data: Buffer.from(data), port, host, via: 'one' }),
  );
  return { b, wire, batches };
}

const datagram = fc.record({
  size: fc.oneof(fc.constant(1350), fc.integer({ min: 0, max: 1400 })),
  to: fc.constantFrom(1000, 2000),
});

describe('PostBatcher (GSO batches of posted datagrams)', () => {
  testProp.prop([fc.array(datagram, { maxLength: 200 }), fc.boolean()])(
    'everything posted goes out once, in order, to its destination; batches are equal segments (the last may be shorter) to one place',
    async (posts, refuseSome) => {
      const { b, wire, batches } = recording((i) => !refuseSome || i % 2 === 0);
      const sent = posts.map(({ size, to }, i) => {
        const data = Buffer.alloc(size, i & 0xff);
        b.post(data, to, '127.0.0.1');
        // The caller may reuse its buffer at once.
        const copy = Buffer.from(data);
        data.fill(0xee);
        return { data: copy, port: to };
      });
      await Promise.resolve();
      expect(wire.map((w) => [w.port, w.data.toString('hex')])).toEqual(
        sent.map((s) => [s.port, s.data.toString('hex')]),
      );
      for (const { length, segment } of batches) {
        expect(length).toBeLessThanOrEqual(63 * 1024);
        expect(segment).toBeGreaterThan(0);
        expect(length).toBeGreaterThan(segment);
      }
    },
  );

  test('a burst of equal datagrams to one place goes in few batches', async () => {
    const { b, wire, batches } = recording(() => true);
    for (let i = 0; i < 100; i++) b.post(Buffer.alloc(1350, i), 1000, '::1');
    await Promise.resolve();
    expect(wire).toHaveLength(100);
    // 47 segments of 1,350 bytes fit a 63 KiB batch.
    expect(batches.map((x) => x.length / x.segment)).toEqual([47, 47, 6]);
  });

  test('a UDPDatagramPort posting a burst: it arrives whole and in order, sent in batches', async () => {
    const a = await UDPDatagramPort.bind({ host: '127.0.0.1' });
    const r = await UDPDatagramPort.bind({ host: '127.0.0.1', recvBufferSize: 4 << 20 });
    const got: Array<Uint8Array> = [];
    r.onDatagram((d) => got.push(d));
    try {
      const sent = Array.from({ length: 300 }, (_, i) =>
        Buffer.alloc(i % 50 === 49 ? 700 : 1350, i),
      );
      for (const d of sent) a.post!(d, r.localAddress);
      const end = Date.now() + 3000;
      while (got.length < sent.length && Date.now() < end) {
        await new Promise((res) => setTimeout(res, 5));
      }
      expect(got.map((d) => Buffer.from(d).toString('hex'))).toEqual(
        sent.map((d) => d.toString('hex')),
      );
      expect(a.gsoStats.batches).toBeGreaterThan(0);
      expect(a.gsoStats.datagrams).toBeGreaterThan(a.gsoStats.batches);
    } finally {
      await a.close();
      await r.close();
    }
  });
});
