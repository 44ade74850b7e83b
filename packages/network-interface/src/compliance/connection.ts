import type { Address, NodeId } from '../types.js';
import type { Connection, ConnectionTransport, Stream } from '../Connection.js';
import { describe, test, expect, beforeEach, afterEach } from '@jest/globals';
import * as errors from '../errors.js';

type ConnectionHarness = {
  /** Two running transports; `listenerAddress` is where `listener` accepts. */
  createPair(): Promise<{
    dialer: ConnectionTransport;
    listener: ConnectionTransport;
    listenerAddress: Address;
    /** An address nothing answers on, of the same family. */
    deadAddress: Address;
    /** A NodeId that is not the listener's. */
    otherNodeId: NodeId;
    destroy(): Promise<void>;
  }>;
  /**
   * Known failures: test name -> the reason (a bug being worked on). Those
   * tests are skipped, and the reason is printed when the suite starts.
   */
  knownFailures?: Record<string, string>;
};

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Array<Uint8Array> = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

async function writeAll(stream: Stream, data: Uint8Array, chunk = 16 * 1024): Promise<void> {
  const writer = stream.writable.getWriter();
  for (let i = 0; i < data.byteLength; i += chunk) {
    await writer.write(data.subarray(i, i + chunk));
  }
  await writer.close();
}

/** Echoes every stream opened on `connection` back to its opener. */
function echo(connection: Connection): void {
  connection.onStream((stream) => {
    void stream.readable.pipeTo(stream.writable).catch(() => {});
  });
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function nextConnection(t: ConnectionTransport): Promise<Connection> {
  return new Promise((resolve) => {
    const off = t.onConnection((c) => {
      off();
      resolve(c);
    });
  });
}

/**
 * The `ConnectionTransport` / `Connection` / `Stream` contract. Run it from
 * an implementation's tests with a harness that makes two transports.
 */
function testConnectionCompliance(name: string, harness: ConnectionHarness): void {
  const testUnlessKnown = (title: string, fn: () => Promise<void>) => {
    const known = harness.knownFailures?.[title];
    if (known == null) return test(title, fn);
    process.stderr.write(`compliance (${name}): skipping "${title}": ${known}\n`);
    return test.skip(title, fn);
  };
  describe(`ConnectionTransport compliance: ${name}`, () => {
    let pair: Awaited<ReturnType<ConnectionHarness['createPair']>>;
    beforeEach(async () => {
      pair = await harness.createPair();
    });
    afterEach(async () => {
      await pair.destroy();
    });

    test('dial yields a verified connection on both sides', async () => {
      const inbound = nextConnection(pair.listener);
      const c = await pair.dialer.dial(pair.listener.nodeId, pair.listenerAddress);
      const s = await inbound;
      expect(Buffer.from(c.remoteNodeId).equals(Buffer.from(pair.listener.nodeId))).toBe(true);
      expect(Buffer.from(s.remoteNodeId).equals(Buffer.from(pair.dialer.nodeId))).toBe(true);
      expect(c.initiator).toBe('local');
      expect(s.initiator).toBe('remote');
      expect(c.closed).toBe(false);
      expect(c.remoteAddress.port).toBe(pair.listenerAddress.port);
    });

    test('streams carry bytes intact in both directions', async () => {
      const inbound = nextConnection(pair.listener);
      const c = await pair.dialer.dial(pair.listener.nodeId, pair.listenerAddress);
      const s = await inbound;
      echo(s);
      echo(c);
      const data = pattern(200_000, 7);
      const st = await c.openStream();
      const [, back] = await Promise.all([writeAll(st, data), readAll(st.readable)]);
      expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
      const rs = await s.openStream();
      const small = pattern(1000, 9);
      const [, back2] = await Promise.all([writeAll(rs, small), readAll(rs.readable)]);
      expect(Buffer.from(back2).equals(Buffer.from(small))).toBe(true);
    });

    testUnlessKnown('many concurrent streams stay separate', async () => {
      const inbound = nextConnection(pair.listener);
      const c = await pair.dialer.dial(pair.listener.nodeId, pair.listenerAddress);
      echo(await inbound);
      const results = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const data = pattern(5_000 + i * 100, i + 1);
          const st = await c.openStream();
          const [, back] = await Promise.all([writeAll(st, data), readAll(st.readable)]);
          return Buffer.from(back).equals(Buffer.from(data));
        }),
      );
      expect(results.every(Boolean)).toBe(true);
    });

    test('close reaches the peer and ends the connection', async () => {
      const inbound = nextConnection(pair.listener);
      const c = await pair.dialer.dial(pair.listener.nodeId, pair.listenerAddress);
      const s = await inbound;
      const peerClosed = new Promise<Error | undefined>((resolve) => s.onClose(resolve));
      await c.close();
      expect(c.closed).toBe(true);
      await peerClosed;
      expect(s.closed).toBe(true);
      await expect(c.openStream()).rejects.toBeInstanceOf(errors.ErrorConnectionClosed);
      let late = false;
      c.onClose(() => {
        late = true;
      });
      expect(late).toBe(true);
      await c.close();
    });

    test('punch sockets: one hears a punch, and a dial from it comes from its port', async () => {
      const { dialer, listener, listenerAddress } = pair;
      if (dialer.openPunchSockets == null || listener.sendPunch == null) return;
      const family = listenerAddress.family;
      const sockets = await dialer.openPunchSockets(family, 4);
      try {
        expect(sockets.count).toBe(4);
        const local = sockets.localAddress(2)!;
        expect(local.family).toBe(family);
        const heard = new Promise<{ index: number; from: Address }>((resolve) => {
          const off = sockets.onReceive((index, from) => {
            off();
            resolve({ index, from });
          });
        });
        await sockets.sendAll(listenerAddress, new Uint8Array([0, 1, 2, 3]));
        await listener.sendPunch(local, new Uint8Array([0, 9, 9, 9]));
        const h = await heard;
        expect(h.index).toBe(2);
        expect(h.from.port).toBe(listenerAddress.port);
        const inbound = nextConnection(listener);
        const c = await sockets.dial(2, listener.nodeId, h.from, { timer: 5000 });
        const s = await inbound;
        expect(s.remoteAddress.port).toBe(local.port);
        expect(c.initiator).toBe('local');
        echo(s);
        const stream = await c.openStream();
        const data = pattern(1000, 7);
        const [, back] = await Promise.all([writeAll(stream, data), readAll(stream.readable)]);
        expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
        // A socket handed to a connection is no longer the set's.
        expect(sockets.localAddress(2)).toBeUndefined();
        await expect(sockets.dial(2, listener.nodeId, h.from)).rejects.toBeInstanceOf(
          errors.ErrorConnectionDial,
        );
        await sockets.close();
        await expect(sockets.dial(0, listener.nodeId, h.from)).rejects.toBeInstanceOf(
          errors.ErrorConnectionDial,
        );
        // The connection outlives the set.
        expect(c.closed).toBe(false);
        await c.close();
      } finally {
        await sockets.close();
      }
    });

    test('dialling the wrong NodeId fails with a dial error', async () => {
      await expect(
        pair.dialer.dial(pair.otherNodeId, pair.listenerAddress, { timer: 5000 }),
      ).rejects.toBeInstanceOf(errors.ErrorConnectionNodeIdMismatch);
    });

    test('a dial to a dead address times out', async () => {
      await expect(
        pair.dialer.dial(pair.listener.nodeId, pair.deadAddress, { timer: 300 }),
      ).rejects.toBeInstanceOf(errors.ErrorTimeout);
    });

    test('a cancelled dial rejects with ErrorCancelled', async () => {
      const abort = new AbortController();
      const p = pair.dialer.dial(pair.listener.nodeId, pair.deadAddress, {
        signal: abort.signal,
        timer: 5000,
      });
      abort.abort(new Error('stop'));
      await expect(p).rejects.toBeInstanceOf(errors.ErrorCancelled);
    });
  });
}

export { testConnectionCompliance };
export type { ConnectionHarness };
