import { describe, test, expect, afterEach } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import { startNode, engines, logger as testLogger } from './utils.js';
import type { TestNode } from './utils.js';
import { ErrorRPCRemote } from '../src/errors.js';

/**
 * Writes `bytes` on a fresh stream, ends it, and reads what comes back for
 * at most `ms`; returns the answer text and whether the peer ended the stream.
 */
async function rawExchange(
  stream: {
    readable: ReadableStream<Uint8Array>;
    writable: WritableStream<Uint8Array>;
    cancel(r?: unknown): void;
  },
  bytes: Uint8Array,
  ms = 2000,
): Promise<{ text: string; ended: boolean }> {
  const w = stream.writable.getWriter();
  await w.write(bytes).catch(() => {});
  await w.close().catch(() => {});
  const reader = stream.readable.getReader();
  let text = '';
  let ended = false;
  const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms));
  try {
    for (;;) {
      const r = await Promise.race([reader.read(), deadline]);
      if (r === 'timeout') break;
      if (r.done) {
        ended = true;
        break;
      }
      text += Buffer.from(r.value).toString('utf8');
    }
  } catch {
    // A reset stream is an acceptable answer to garbage.
    ended = true;
  }
  stream.cancel();
  return { text, ended };
}

describe.each(engines)('RPC over connections, hostile input (%s engine)', (engine) => {
  let a: TestNode | undefined;
  let b: TestNode | undefined;
  afterEach(async () => {
    await a?.stop();
    await b?.stop();
    a = undefined;
    b = undefined;
  });

  test('unknown methods, garbage and oversized requests get typed answers; the connection survives', async () => {
    const na = await startNode({ engine });
    a = na;
    const nb = await startNode({ engine });
    b = nb;
    const nc = await na.manager.connect(nb.transport.nodeId, nb.transport.localAddresses);
    await expect(nc.rpc.unary('noSuchMethod', {}, { timer: 3000 })).rejects.toBeDefined();
    // Raw garbage on a stream.
    const s1 = await nc.connection.openStream();
    const r1 = await rawExchange(s1, Buffer.from('this is not json-rpc {{{'));
    expect(r1.ended).toBe(true);
    // A well-formed JSON value that is not a request.
    const s2 = await nc.connection.openStream();
    const r2 = await rawExchange(s2, Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1 })));
    expect(r2.ended).toBe(true);
    // Oversized: 1 MiB inside one JSON string.
    const s3 = await nc.connection.openStream();
    const huge = `{"jsonrpc":"2.0","method":"ping","params":{"x":"${'a'.repeat(1 << 20)}"},"id":1}`;
    const r3 = await rawExchange(s3, Buffer.from(huge));
    expect(r3.ended).toBe(true);
    // Still usable.
    expect(await na.manager.ping(nb.transport.nodeId)).toBeGreaterThanOrEqual(0);
    expect(nc.connection.closed).toBe(false);
  });

  /** Two nodes, the second serving `handlers` (beside none of its defaults), connected. */
  async function pairWithHandlers(handlers: Record<string, any>) {
    const { default: NodeConnectionManager } = await import('../src/NodeConnectionManager.js');
    const na = await startNode({ engine });
    a = na;
    const nb = await startNode({ engine });
    b = nb;
    await nb.manager.stop();
    const manager = new NodeConnectionManager({ transport: nb.transport, logger: testLogger });
    await manager.start({ handlers });
    nb.manager = manager;
    const nc = await na.manager.connect(nb.transport.nodeId, nb.transport.localAddresses);
    return { na, nb, nc };
  }

  test('a handler that throws surfaces as ErrorRPCRemote without a stack', async () => {
    const { UnaryHandler } = await import('@matrixai/rpc');
    class Boom extends UnaryHandler {
      public handle = async () => {
        throw new Error('kaboom');
      };
    }
    const { nc } = await pairWithHandlers({ boom: new Boom({}) });
    const e = await nc.rpc.unary('boom', {}).catch((e) => e);
    expect(e).toBeInstanceOf(ErrorRPCRemote);
    expect(e.message).toMatch(/kaboom/);
    expect(JSON.stringify(e.data)).not.toMatch(/at .*\.ts/);
  });

  test("a caller's abort ends a call whose stream is open, well before its timer", async () => {
    const { UnaryHandler } = await import('@matrixai/rpc');
    let handlerStarted!: () => void;
    const started = new Promise<void>((r) => (handlerStarted = r));
    class Silent extends UnaryHandler {
      public handle = async () => {
        handlerStarted();
        // Never answers within the test: only the caller's abort can end the call.
        await new Promise((r) => setTimeout(r, 20_000).unref());
        return {};
      };
    }
    const { na, nb, nc } = await pairWithHandlers({ silent: new Silent({}) });
    const abort = new AbortController();
    const t0 = Date.now();
    const call = nc.rpc
      .unary('silent', {}, { timer: 15_000, signal: abort.signal })
      .catch((e) => e);
    await started;
    abort.abort(new Error('the caller gave up'));
    const e = await call;
    expect(e).toBeInstanceOf(Error);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // The connection is still good for other calls.
    expect(await na.manager.ping(nb.transport.nodeId)).toBeGreaterThanOrEqual(0);
  });

  test('a handler answering a caller that already left fails quietly, never as an unhandled rejection', async () => {
    const { RawHandler } = await import('@matrixai/rpc');
    const unhandled: Array<unknown> = [];
    const onUnhandled = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    let answered!: () => void;
    const done = new Promise<void>((r) => (answered = r));
    class Late extends RawHandler {
      public handle = async (): Promise<any> => {
        // The caller cancels meanwhile: the leading message below meets its STOP_SENDING.
        await new Promise((r) => setTimeout(r, 300));
        setTimeout(answered, 500);
        return [{ late: true }, new ReadableStream({ start: (c) => c.close() })];
      };
    }
    try {
      const { nc } = await pairWithHandlers({ late: new Late({}) });
      const s = await nc.rpc.raw('late', {});
      s.cancel(new Error('the caller left'));
      await done;
      expect(unhandled).toEqual([]);
      expect(await nc.rpc.unary('late', {}).catch(() => 'failed')).toBeDefined();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  testProp.prop([fc.uint8Array({ maxLength: 4096 })], { numRuns: 15 })(
    'random bytes on a stream never break the peer',
    async (bytes) => {
      const na = (a ??= await startNode({ engine }));
      const nb = (b ??= await startNode({ engine }));
      const nc = await na.manager.connect(nb.transport.nodeId, nb.transport.localAddresses);
      const s = await nc.connection.openStream();
      await rawExchange(s, bytes, 500);
      expect(await na.manager.ping(nb.transport.nodeId)).toBeGreaterThanOrEqual(0);
    },
  );
});
