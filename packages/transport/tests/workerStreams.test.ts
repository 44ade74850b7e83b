import type { Stream } from '@node-network/network-interface';
import type {
  FromEngine,
  StreamFromEngine,
  StreamToEngine,
  ToEngine,
} from '../src/worker/protocol.js';
import { describe, test, expect, afterEach } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import { MessageChannel } from 'node:worker_threads';
import Outbox from '../src/worker/Outbox.js';
import WorkerStream from '../src/worker/WorkerStream.js';
import StreamPump from '../src/worker/StreamPump.js';
import { parseFromEngineBatch } from '../src/worker/protocol.js';

/**
 * The cross-thread data path without QUIC: main-side `WorkerStream`s and
 * engine-side `StreamPump`s joined by a real MessageChannel (structured clone
 * and transfer, as between threads), each pump driving a stand-in stream.
 */
function harness(window: number) {
  const { port1, port2 } = new MessageChannel();
  const mainOut = new Outbox<ToEngine>((batch, transfer) => port1.postMessage(batch, transfer));
  const engineOut = new Outbox<FromEngine>((batch, transfer) => port2.postMessage(batch, transfer));
  const streams = new Map<number, WorkerStream>();
  const pumps = new Map<number, StreamPump>();
  let batchesToEngine = 0;
  let messagesToEngine = 0;
  port2.on('message', (batch: Array<ToEngine>) => {
    batchesToEngine++;
    messagesToEngine += batch.length;
    for (const m of batch as Array<StreamToEngine>) pumps.get(m.s)?.handle(m);
  });
  port1.on('message', (batch: unknown) => {
    for (const m of parseFromEngineBatch(batch)) {
      streams.get((m as StreamFromEngine).s)?.handle(m as StreamFromEngine);
    }
  });
  let next = 0;
  return {
    open(inner: Stream): WorkerStream {
      const s = ++next;
      pumps.set(
        s,
        new StreamPump({
          s,
          stream: inner,
          link: engineOut,
          window,
          onDone: () => pumps.delete(s),
        }),
      );
      const stream = new WorkerStream({
        s,
        link: mainOut,
        window,
        onDone: () => streams.delete(s),
      });
      streams.set(s, stream);
      return stream;
    },
    stats: () => ({ batchesToEngine, messagesToEngine }),
    close() {
      port1.close();
      port2.close();
    },
  };
}

/** A stream that gives back what is written to it. */
function loopback(): Stream {
  const t = new TransformStream<Uint8Array, Uint8Array>();
  return { readable: t.readable, writable: t.writable, cancel: () => {} };
}

async function readAll(r: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Array<Uint8Array> = [];
  const reader = r.getReader();
  for (let x = await reader.read(); !x.done; x = await reader.read()) chunks.push(x.value);
  return Buffer.concat(chunks);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker data path (MessageChannel)', () => {
  let h: ReturnType<typeof harness> | undefined;
  afterEach(() => {
    h?.close();
    h = undefined;
  });

  testProp.prop(
    [
      fc.array(fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 0, maxLength: 12 }), {
        minLength: 1,
        maxLength: 10,
      }),
      fc.integer({ min: 1024, max: 256 * 1024 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }),
    ],
    { numRuns: 25 },
  )(
    'random chunk sizes on many interleaved streams arrive intact and in order',
    async (plans, window, pauses) => {
      h = harness(window);
      const hh = h;
      let seed = 1;
      const results = await Promise.all(
        plans.map(async (sizes, i) => {
          const stream = hh.open(loopback());
          const sent: Array<Uint8Array> = sizes.map((n) => {
            const b = new Uint8Array(n);
            for (let k = 0; k < n; k++) b[k] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
            return b;
          });
          const writing = (async () => {
            const w = stream.writable.getWriter();
            for (let k = 0; k < sent.length; k++) {
              await w.write(sent[k]);
              // Interleave: some writers yield a turn or more between chunks.
              const p = pauses[(i + k) % pauses.length];
              if (p > 0) await sleep(p - 1);
            }
            await w.close();
          })();
          const got = await readAll(stream.readable);
          await writing;
          return Buffer.concat(sent).equals(got);
        }),
      );
      expect(results.every(Boolean)).toBe(true);
    },
  );

  test('chunks written in one turn cross in one message per stream', async () => {
    h = harness(1024 * 1024);
    const stream = h.open(loopback());
    const w = stream.writable.getWriter();
    for (let i = 0; i < 100; i++) void w.write(new Uint8Array(100).fill(i));
    const closing = w.close();
    const got = await readAll(stream.readable);
    await closing;
    expect(got.byteLength).toBe(10_000);
    // 100 writes: one data message (and the end) in the first batch.
    expect(h.stats().batchesToEngine).toBeLessThan(10);
  });

  test('a slow reader stops the engine reading: at most a window in flight', async () => {
    const window = 64 * 1024;
    h = harness(window);
    let produced = 0;
    const source = new ReadableStream<Uint8Array>({
      pull: (c) => {
        produced += 16 * 1024;
        c.enqueue(new Uint8Array(16 * 1024));
      },
    });
    const stream = h.open({ readable: source, writable: new WritableStream(), cancel: () => {} });
    await sleep(200);
    // The pump stops once a window is unread; the source itself buffers one chunk ahead.
    expect(produced).toBeLessThanOrEqual(window + 2 * 16 * 1024);
    const reader = stream.readable.getReader();
    let taken = 0;
    while (taken < 512 * 1024) taken += (await reader.read()).value!.byteLength;
    await sleep(50);
    expect(produced).toBeGreaterThanOrEqual(512 * 1024);
    expect(produced - taken).toBeLessThanOrEqual(window + 2 * 16 * 1024);
    stream.cancel(new Error('done'));
  });

  test('a slow sink stops our writer: writes do not resolve beyond the window', async () => {
    const window = 64 * 1024;
    h = harness(window);
    const release: Array<() => void> = [];
    const sink = new WritableStream<Uint8Array>(
      { write: () => new Promise<void>((r) => release.push(r)) },
      { highWaterMark: 1 },
    );
    const stream = h.open({ readable: new ReadableStream(), writable: sink, cancel: () => {} });
    const w = stream.writable.getWriter();
    let accepted = 0;
    const writing = (async () => {
      for (let i = 0; i < 64; i++) {
        await w.write(new Uint8Array(8 * 1024));
        accepted += 8 * 1024;
      }
    })();
    await sleep(200);
    expect(accepted).toBeLessThanOrEqual(window + 8 * 1024);
    expect(accepted).toBeGreaterThanOrEqual(window / 2);
    // Draining the sink lets the writer finish.
    const drain = setInterval(() => release.splice(0).forEach((r) => r()), 5);
    await writing;
    clearInterval(drain);
    expect(accepted).toBe(512 * 1024);
  });

  test('cancel and errors reach the other side; nothing hangs', async () => {
    h = harness(64 * 1024);
    let innerCancelled: unknown;
    const inner = loopback();
    const stream = h.open({ ...inner, cancel: (r) => void (innerCancelled = r ?? 'cancelled') });
    const reader = stream.readable.getReader();
    const pending = reader.read();
    stream.cancel(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    await expect(stream.writable.getWriter().write(new Uint8Array(1))).rejects.toThrow('stop');
    await sleep(20);
    expect(innerCancelled).toBeDefined();

    // The engine side's stream fails: the reader and writer here reject.
    const failing = h.open({
      readable: new ReadableStream({ pull: (c) => c.error(new Error('peer reset')) }),
      writable: new WritableStream({ write: () => Promise.reject(new Error('peer stopped')) }),
      cancel: () => {},
    });
    await expect(failing.readable.getReader().read()).rejects.toThrow('peer reset');
    const fw = failing.writable.getWriter();
    await fw.write(new Uint8Array(10)).catch(() => {});
    await sleep(20);
    await expect(fw.write(new Uint8Array(10))).rejects.toThrow('peer stopped');
  });
});
