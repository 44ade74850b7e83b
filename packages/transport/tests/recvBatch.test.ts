import type { RemoteInfo } from 'node:dgram';
import type { RecvStats } from '../src/recvBatch.js';
import dgram from 'node:dgram';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { test as testProp, fc } from '@fast-check/jest';
import { installRecvBatch } from '../src/recvBatch.js';
import { socketFd } from '../src/gso.js';
import { intactTransfer } from './fixtures/intactTransfer.js';
import { perTurn } from './fixtures/perTurn.js';

const native = createRequire(import.meta.url)('../native/build/udp_gso.node') as {
  recv: (...args: Array<unknown>) => number;
};

type Got = { data: Buffer; from: RemoteInfo; via: 'node' | 'batch' };

async function bound(type: 'udp4' | 'udp6', host: string, ipv6Only = false) {
  const s = dgram.createSocket({ type, ipv6Only });
  await new Promise<void>((r) => s.bind(0, host, r));
  // Room for a whole burst: what this tests is reading, not the kernel dropping.
  s.setRecvBufferSize(4 * 1024 * 1024);
  return s;
}

async function until(f: () => boolean, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!f() && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
}

/** A receiver whose "engine" listener records what Node delivers, with the batch reader after it. */
async function receiver(type: 'udp4' | 'udp6', host: string) {
  const rx = await bound(type, host);
  const got: Array<Got> = [];
  rx.on('message', (data, from) => got.push({ data, from, via: 'node' }));
  const stats: RecvStats = { batches: 0, datagrams: 0 };
  const remove = installRecvBatch(
    rx,
    // A view, reused after this returns: the sink copies what it keeps.
    (data, from) => got.push({ data: Buffer.from(data), from: { ...from }, via: 'batch' }),
    stats,
  );
  return { rx, got, stats, remove };
}

/** Sends back to back, without waiting in between, so that datagrams queue up at the receiver. */
function burst(tx: dgram.Socket, datagrams: Array<Buffer>, port: number, host: string) {
  return Promise.all(
    datagrams.map(
      (d) => new Promise<void>((r, e) => tx.send(d, port, host, (x) => (x ? e(x) : r()))),
    ),
  );
}

describe('batched UDP receives (recvmmsg)', () => {
  testProp.prop(
    [
      fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 300 }),
      fc.constantFrom(
        ['udp4', '127.0.0.1', 'udp4', '127.0.0.1'] as const,
        ['udp6', '::1', 'udp6', '::1'] as const,
        // An IPv4 sender to a dual-stack socket: the source reads IPv4-mapped, as Node reports it.
        ['udp6', '::', 'udp4', '127.0.0.1'] as const,
      ),
    ],
    { numRuns: 20 },
  )(
    'every datagram arrives once, in order, intact, with the source Node reports',
    async (sizes, [rxType, rxHost, txType, txHost]) => {
      const r = await receiver(rxType, rxHost);
      const tx = await bound(txType, txHost);
      try {
        const datagrams = sizes.map((n, i) => {
          const d = Buffer.alloc(n + 2);
          d.writeUInt16BE(i);
          for (let j = 2; j < d.length; j++) d[j] = (i * 31 + j) & 0xff;
          return d;
        });
        const to = rxHost === '::' ? '127.0.0.1' : rxHost;
        await burst(tx, datagrams, r.rx.address().port, to);
        await until(() => r.got.length >= datagrams.length);
        expect(r.got.length).toBe(datagrams.length);
        for (const [i, g] of r.got.entries()) expect(g.data.equals(datagrams[i])).toBe(true);
        const fromNode = r.got.find((g) => g.via === 'node')!.from;
        for (const g of r.got) {
          expect(g.from.address).toBe(fromNode.address);
          expect(g.from.family).toBe(fromNode.family);
          expect(g.from.port).toBe(tx.address().port);
          expect(g.from.size).toBe(g.data.length);
        }
        expect(r.stats.datagrams).toBe(r.got.filter((g) => g.via === 'batch').length);
      } finally {
        r.rx.close();
        tx.close();
      }
    },
  );

  test('a burst is read mostly in batches', async () => {
    const r = await receiver('udp4', '127.0.0.1');
    const tx = await bound('udp4', '127.0.0.1');
    try {
      const datagrams = Array.from({ length: 500 }, (_, i) => Buffer.alloc(1200, i & 0xff));
      await burst(tx, datagrams, r.rx.address().port, '127.0.0.1');
      await until(() => r.got.length >= 500);
      expect(r.got.length).toBe(500);
      expect(r.stats.datagrams).toBeGreaterThan(250);
      expect(r.got.filter((g) => g.via === 'node').length).toBe(500 - r.stats.datagrams);
    } finally {
      r.rx.close();
      tx.close();
    }
  });

  test('at most 256 datagrams (plus one batch) are read in batches per turn of the event loop', async () => {
    const r = await receiver('udp4', '127.0.0.1');
    const tx = await bound('udp4', '127.0.0.1');
    try {
      const datagrams = Array.from({ length: 2000 }, (_, i) => Buffer.alloc(600, i & 0xff));
      await burst(tx, datagrams, r.rx.address().port, '127.0.0.1');
      const turns = perTurn(() => r.stats.datagrams);
      await until(() => r.got.length >= 2000);
      const growth = turns.stop();
      expect(r.got.length).toBe(2000);
      expect(Math.max(...growth)).toBeGreaterThan(0);
      expect(Math.max(...growth)).toBeLessThanOrEqual(256 + 63);
    } finally {
      r.rx.close();
      tx.close();
    }
  });

  test('the largest UDP payload is never truncated', async () => {
    const r = await receiver('udp4', '127.0.0.1');
    const tx = await bound('udp4', '127.0.0.1');
    try {
      const big = crypto.randomBytes(65_507);
      await burst(
        tx,
        [Buffer.from('a'), big, big, Buffer.from('z')],
        r.rx.address().port,
        '127.0.0.1',
      );
      await until(() => r.got.length >= 4);
      expect(r.got.map((g) => g.data.length)).toEqual([1, 65_507, 65_507, 1]);
      expect(r.got[1].data.equals(big) && r.got[2].data.equals(big)).toBe(true);
    } finally {
      r.rx.close();
      tx.close();
    }
  });

  test('with another message listener it reads nothing itself: every listener gets every datagram', async () => {
    const r = await receiver('udp4', '127.0.0.1');
    const other: Array<Buffer> = [];
    r.rx.on('message', (m) => other.push(m));
    const tx = await bound('udp4', '127.0.0.1');
    try {
      const datagrams = Array.from({ length: 200 }, (_, i) => Buffer.from(`d${i}`));
      await burst(tx, datagrams, r.rx.address().port, '127.0.0.1');
      await until(() => other.length >= 200 && r.got.length >= 200);
      expect(other.map(String)).toEqual(datagrams.map(String));
      expect(r.got.map((g) => String(g.data))).toEqual(datagrams.map(String));
      expect(r.stats).toEqual({ batches: 0, datagrams: 0 });
    } finally {
      r.rx.close();
      tx.close();
    }
  });

  test('it refuses a socket that already has other listeners, and can be removed', async () => {
    const rx = await bound('udp4', '127.0.0.1');
    try {
      expect(installRecvBatch(rx, () => {})).toMatch(/0 message listeners/);
      rx.on('message', () => {});
      const remove = installRecvBatch(rx, () => {});
      expect(typeof remove).toBe('function');
      expect(rx.listenerCount('message')).toBe(2);
      (remove as () => void)();
      expect(rx.listenerCount('message')).toBe(1);
    } finally {
      rx.close();
    }
  });

  test('hostile arguments to the native function are typed errors, not crashes', async () => {
    const rx = await bound('udp4', '127.0.0.1');
    try {
      const fd = socketFd(rx)!;
      const buf = new Uint8Array(2048 * 4);
      const meta = new Uint8Array(72 * 4);
      const bad: Array<Array<unknown>> = [
        [],
        [fd, buf, 2048, 4],
        ['x', buf, 2048, 4, meta],
        [fd, 'not bytes', 2048, 4, meta],
        [fd, new Uint16Array(8192), 2048, 4, meta],
        [fd, buf, 2048, 4, new Float64Array(72)],
        [fd, buf, 0, 4, meta],
        [fd, buf, 65_537, 4, meta],
        [fd, buf, 2048, 0, meta],
        [fd, buf, 2048, 65, meta],
        [fd, buf, 2048, 5, meta],
        [fd, buf, 4096, 4, meta],
        [fd, buf, 2048, 4, new Uint8Array(72 * 3)],
        [-1, buf, 2048, 4, meta],
      ];
      for (const args of bad)
        expect(() => native.recv(...args)).toThrow(/integers|are Uint8Arrays|out of range|recv\(/);
      // Nothing waiting: 0. A descriptor that is not a socket: an errno, not a crash.
      expect(native.recv(fd, buf, 2048, 4, meta)).toBe(0);
      expect(native.recv(0x7fff_fff0, buf, 2048, 4, meta)).toBeLessThan(0);
    } finally {
      rx.close();
    }
  });

  test.each([true, false])(
    'a QUIC transfer is intact with batched receives %s, and uses them only when on',
    (udpRecvBatch) =>
      intactTransfer({ udpRecvBatch }, 128, (a, b) => {
        if (udpRecvBatch) {
          expect(b.recvStats.datagrams).toBeGreaterThan(0);
        } else {
          expect(b.recvStats).toEqual({ batches: 0, datagrams: 0 });
          expect(a.recvStats).toEqual({ batches: 0, datagrams: 0 });
        }
      }),
  );
});
