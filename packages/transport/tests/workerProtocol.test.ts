import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import { errors as baseErrors } from '@node-network/network-interface';
import * as errors from '../src/errors.js';
import { parseFromEngine, parseFromEngineBatch } from '../src/worker/protocol.js';
import { fromWireError, toWireError } from '../src/worker/wireErrors.js';

describe('worker protocol: what the main thread accepts from a worker', () => {
  testProp.prop([fc.anything({ withTypedArray: true, withMap: true, withSet: true })], {
    numRuns: 500,
  })('anything malformed is ErrorTransportWorkerProtocol, never another throw', (x) => {
    for (const input of [x, [x], { t: 'data', s: 1, chunks: x }, { t: 'conn', conn: x }]) {
      try {
        parseFromEngineBatch(input);
      } catch (e) {
        expect(e).toBeInstanceOf(errors.ErrorTransportWorkerProtocol);
      }
    }
  });

  test('well-formed messages pass, with addresses normalised', () => {
    const conn = {
      c: 3,
      remoteNodeId: new Uint8Array(32),
      localAddress: { host: '127.0.0.1', port: 1000, family: 'ipv4' },
      remoteAddress: { host: '::ffff:10.0.0.1', port: 2000, family: 'ipv6' },
      initiator: 'remote',
      protocol: 'node-network',
    };
    const [m] = parseFromEngineBatch([{ t: 'conn', conn }]);
    expect(m.t).toBe('conn');
    expect(m.t === 'conn' && m.conn.remoteAddress.host).toBe('10.0.0.1');
    expect(parseFromEngine({ t: 'credit', s: 1, n: 5 })).toEqual({ t: 'credit', s: 1, n: 5 });
    for (const bad of [
      { t: 'credit', s: 1, n: -5 },
      { t: 'conn', conn: { ...conn, remoteNodeId: new Uint8Array(31) } },
      { t: 'conn', conn: { ...conn, initiator: 'both' } },
      { t: 'addr', c: 1, address: { host: 'example.com', port: 1 } },
      { t: 'rerr', s: 1, error: { name: 'E' } },
      { t: 'audit', record: { kind: 'rm -rf' } },
    ]) {
      expect(() => parseFromEngine(bad)).toThrow(errors.ErrorTransportWorkerProtocol);
    }
  });

  test('errors cross as their own classes, with causes', () => {
    const e = new baseErrors.ErrorConnectionNodeIdMismatch('not them', {
      cause: new errors.ErrorDialAddressFailed('inner', { data: { code: 7 } }),
    });
    const back = fromWireError(structuredClone(toWireError(e)));
    expect(back).toBeInstanceOf(baseErrors.ErrorConnectionNodeIdMismatch);
    expect(back.message).toBe('not them');
    expect(back.cause).toBeInstanceOf(errors.ErrorDialAddressFailed);
    expect((back.cause as errors.ErrorDialAddressFailed<any>).data).toEqual({ code: 7 });
    const unknown = fromWireError(
      { name: 'TypeError', message: 'x' },
      baseErrors.ErrorConnectionClosed,
    );
    expect(unknown).toBeInstanceOf(baseErrors.ErrorConnectionClosed);
    expect(fromWireError({ name: 'RangeError', message: 'y' }).name).toBe('RangeError');
  });
});
