import type { GsoSend, GsoStats } from '../src/gso.js';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { test as testProp, fc } from '@fast-check/jest';
import Logger, { LogLevel } from '@matrixai/logger';
import { makeGsoSend } from '../src/gso.js';
import { intactTransfer } from './fixtures/intactTransfer.js';

const logger = new Logger('gso test', LogLevel.SILENT);
const native = createRequire(import.meta.url)('../native/build/udp_gso.node') as {
  send: (...args: Array<unknown>) => number;
};

async function pair(type: 'udp4' | 'udp6', host: string) {
  const rx = dgram.createSocket(type);
  const tx = dgram.createSocket(type);
  await new Promise<void>((r) => rx.bind(0, host, r));
  await new Promise<void>((r) => tx.bind(0, host, r));
  const got: Array<Buffer> = [];
  rx.on('message', (m) => got.push(m));
  const close = () => {
    rx.close();
    tx.close();
  };
  return { rx, tx, got, close, port: rx.address().port };
}

async function until(f: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!f() && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
}

describe('UDP GSO batched sends', () => {
  testProp.prop(
    [
      fc.integer({ min: 1, max: 1400 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 1399 }),
      fc.boolean(),
    ],
    { numRuns: 25 },
  )(
    'a batch arrives as its segments, in order, intact (IPv4 and IPv6)',
    async (segment, count, lastShort, v6) => {
      const last = Math.min(segment, lastShort + 1);
      const length = segment * (count - 1) + last;
      fc.pre(length <= 63 * 1024);
      const p = await pair(v6 ? 'udp6' : 'udp4', v6 ? '::1' : '127.0.0.1');
      try {
        const stats: GsoStats = { batches: 0, datagrams: 0, refused: 0 };
        const send = makeGsoSend(p.tx, v6 ? 'ipv6' : 'ipv4', logger, stats) as GsoSend;
        expect(typeof send).toBe('function');
        const data = Buffer.alloc(length);
        for (let i = 0; i < length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
        expect(send(data, length, segment, p.port, v6 ? '::1' : '127.0.0.1')).toBe(true);
        await until(() => p.got.length >= count);
        expect(p.got.length).toBe(count);
        expect(Buffer.concat(p.got).equals(data)).toBe(true);
        for (const [i, m] of p.got.entries()) expect(m.length).toBe(i < count - 1 ? segment : last);
        expect(stats).toEqual({ batches: 1, datagrams: count, refused: 0 });
      } finally {
        p.close();
      }
    },
  );

  test('an IPv4 destination on an IPv6 socket goes IPv4-mapped', async () => {
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const tx = dgram.createSocket({ type: 'udp6' });
    await new Promise<void>((r) => tx.bind(0, '::', r));
    const got: Array<Buffer> = [];
    rx.on('message', (m) => got.push(m));
    try {
      const send = makeGsoSend(tx, 'ipv6', logger) as GsoSend;
      expect(send(Buffer.from('abcdef'), 6, 3, rx.address().port, '127.0.0.1')).toBe(true);
      await until(() => got.length >= 2);
      expect(got.map(String)).toEqual(['abc', 'def']);
    } finally {
      rx.close();
      tx.close();
    }
  });

  test('what the kernel does not take is left to the caller (false), never thrown', async () => {
    const p = await pair('udp4', '127.0.0.1');
    try {
      const stats: GsoStats = { batches: 0, datagrams: 0, refused: 0 };
      const send = makeGsoSend(p.tx, 'ipv4', logger, stats) as GsoSend;
      // Not an address, an IPv6 address on an IPv4 socket, a batch larger than an IP datagram.
      expect(send(Buffer.alloc(10), 10, 5, p.port, 'localhost')).toBe(false);
      expect(send(Buffer.alloc(10), 10, 5, p.port, '::1')).toBe(false);
      expect(stats.refused).toBe(2);
      expect(send(Buffer.alloc(70_000), 70_000, 1000, p.port, '127.0.0.1')).toBe(false);
      expect(stats.refused).toBe(3);
      // A single datagram still goes: refusing an oversized batch is not a reason to stop.
      expect(send(Buffer.from('x'), 1, 1, p.port, '127.0.0.1')).toBe(true);
    } finally {
      p.close();
    }
  });

  test('hostile arguments to the native function are typed errors, not crashes', () => {
    const data = new Uint8Array(10);
    const bad: Array<Array<unknown>> = [
      [],
      [3, 4, data, 10, 5, '127.0.0.1'],
      ['x', 4, data, 10, 5, '127.0.0.1', 1],
      [3, 4, 'not bytes', 10, 5, '127.0.0.1', 1],
      [3, 4, new Uint16Array(10), 10, 5, '127.0.0.1', 1],
      [3, 4, data, 11, 5, '127.0.0.1', 1],
      [3, 4, data, -1, 5, '127.0.0.1', 1],
      [3, 4, data, 10, 0, '127.0.0.1', 1],
      [3, 4, data, 10, 70_000, '127.0.0.1', 1],
      [3, 5, data, 10, 5, '127.0.0.1', 1],
      [3, 4, data, 10, 5, '127.0.0.1', 0],
      [3, 4, data, 10, 5, '127.0.0.1', 65_536],
      [3, 4, data, 10, 5, 'x'.repeat(200), 1],
      [3, 4, data, 10, 5, 42, 1],
    ];
    for (const args of bad)
      expect(() => native.send(...args)).toThrow(/integers|is a|is an|out of range|send\(/);
    // A descriptor that is not a socket: an errno, not a crash.
    expect(native.send(-1, 4, data, 10, 5, '127.0.0.1', 9)).toBeLessThan(0);
  });

  test.each([true, false])(
    'a QUIC transfer is intact with batched sends %s, and uses them only when on',
    (udpGso) =>
      intactTransfer({ udpGso }, 64, (a) => {
        if (udpGso) {
          expect(a.gsoStats.batches).toBeGreaterThan(0);
          // 4 MiB in 1350-byte packets at most: batches carry several each.
          expect(a.gsoStats.datagrams).toBeGreaterThan(a.gsoStats.batches * 2);
        } else {
          expect(a.gsoStats).toEqual({ batches: 0, datagrams: 0, refused: 0 });
        }
      }),
  );
});
