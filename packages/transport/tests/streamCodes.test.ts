import type { Stream } from '@node-network/network-interface';
import { describe, test, expect, afterEach } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import { errors as baseErrors } from '@node-network/network-interface';
import { streamCodes, reasonToCode, codeToReason } from '../src/streamCodes.js';
import { startTransport, firstWorker, engines } from './utils.js';
import type { TestTransport } from './utils.js';

const transports: Array<TestTransport> = [];

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.stop()));
});

describe('stream reset codes', () => {
  test('reasons map to their codes', () => {
    expect(reasonToCode('read')).toBe(streamCodes.unspecified);
    expect(reasonToCode('read', new baseErrors.ErrorCancelled())).toBe(streamCodes.cancelled);
    expect(reasonToCode('write', new baseErrors.ErrorTimeout())).toBe(streamCodes.timeout);
    expect(reasonToCode('write', new baseErrors.ErrorCodec())).toBe(streamCodes.protocol);
    const rpcTimeout = new Error('x');
    rpcTimeout.name = 'ErrorRPCTimedOut';
    expect(reasonToCode('read', rpcTimeout)).toBe(streamCodes.timeout);
    expect(reasonToCode('read', new Error('anything'))).toBe(streamCodes.failed);
    expect(reasonToCode('read', 'not an error')).toBe(streamCodes.failed);
  });

  testProp.prop([fc.constantFrom<'read' | 'write'>('read', 'write'), fc.nat()], { numRuns: 200 })(
    'any code reads back as a typed reset that keeps it when passed on',
    (type, code) => {
      const e = codeToReason(type, code);
      expect(e).toBeInstanceOf(baseErrors.ErrorStreamReset);
      expect(e).toBeInstanceOf(baseErrors.ErrorStreamClosed);
      expect(e.data).toMatchObject({ direction: type, code });
      expect(reasonToCode(type === 'read' ? 'write' : 'read', e)).toBe(code);
    },
  );

  testProp.prop([fc.anything()], { numRuns: 200 })(
    'hostile reasons give a code, never a throw',
    (reason) => {
      const code = reasonToCode('write', reason);
      expect(Number.isSafeInteger(code) && code >= 0).toBe(true);
    },
  );
});

async function pair(engine: 'main' | 'worker') {
  const a = await startTransport({ engine: firstWorker(engine) });
  transports.push(a);
  const b = await startTransport();
  transports.push(b);
  const accepted = new Promise<Stream>((resolve) => b.onConnection((c) => c.onStream(resolve)));
  const c = await a.dial(b.nodeId, b.localAddresses[0]);
  const s = await c.openStream();
  const w = s.writable.getWriter();
  await w.write(new Uint8Array([1, 2, 3]));
  return { c, s, w, peer: await accepted };
}

describe.each(engines)('a peer ending a stream abruptly (%s engine)', (engine) => {
  test('its reset reaches our reads as ErrorStreamReset with the reason code', async () => {
    const { s, peer } = await pair(engine);
    await peer.writable.abort(new baseErrors.ErrorTimeout('handler timed out'));
    const reader = s.readable.getReader();
    const e = await reader.read().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(baseErrors.ErrorStreamReset);
    expect((e as baseErrors.ErrorStreamReset<any>).data).toMatchObject({
      direction: 'read',
      code: streamCodes.timeout,
      reason: 'timeout',
    });
  });

  test('its stop reaches our writes as ErrorStreamReset with the reason code', async () => {
    const { w, peer } = await pair(engine);
    const r = peer.readable.getReader();
    await r.read();
    await r.cancel(new baseErrors.ErrorCancelled('not interested'));
    let e: unknown;
    for (let i = 0; i < 200 && e == null; i++) {
      await w.write(new Uint8Array(16_384)).catch((x: unknown) => (e = x));
    }
    expect(e).toBeInstanceOf(baseErrors.ErrorStreamReset);
    expect((e as baseErrors.ErrorStreamReset<any>).data).toMatchObject({
      direction: 'write',
      code: streamCodes.cancelled,
    });
  });
});

describe.each(engines)('a connection closed under open streams (%s engine)', (engine) => {
  test('their pending reads fail with a typed error, never null', async () => {
    const { c, s } = await pair(engine);
    const read = s.readable
      .getReader()
      .read()
      .then(
        () => 'resolved',
        (e: unknown) => e,
      );
    await c.close();
    const e = await read;
    expect(e).toBeInstanceOf(Error);
  });
});
