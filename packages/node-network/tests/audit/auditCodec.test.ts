import type { AuditRecord } from '@node-network/transport';
import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import {
  decodeAuditRecord,
  decodeAuditRecordBytes,
  encodeAuditRecord,
  parseRecordKey,
  recordKey,
} from '../../src/audit/auditCodec.js';
import * as errors from '../../src/errors.js';

const kinds = ['dial-attempt', 'dial-result', 'signal', 'punch', 'relay', 'inbound-rejected'];
const record: fc.Arbitrary<AuditRecord> = fc.record(
  {
    time: fc.double({ min: 0, max: 2 ** 45, noNaN: true }),
    kind: fc.constantFrom(...kinds) as fc.Arbitrary<AuditRecord['kind']>,
    nodeId: fc.string({ unit: 'binary', maxLength: 300 }),
    address: fc.string({ maxLength: 80 }),
    path: fc.constantFrom('direct', 'punched', 'relayed', 'http-relay' as const),
    direction: fc.constantFrom('outbound', 'inbound' as const),
    outcome: fc.constantFrom('ok', 'failed', 'cancelled', 'timeout' as const),
    durationMs: fc.double({ noNaN: true, noDefaultInfinity: true }),
    connectionId: fc.string(),
    error: fc.record({ name: fc.string(), message: fc.string({ unit: 'binary' }) }),
    detail: fc.string({ unit: 'binary', maxLength: 500 }),
  },
  { requiredKeys: ['time', 'kind'] },
);

/** Any decode outcome but a typed codec error is a bug. */
function decodeOrInvalid(bytes: Buffer): AuditRecord | 'invalid' {
  try {
    return decodeAuditRecordBytes(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(errors.ErrorAuditRecordInvalid);
    return 'invalid';
  }
}

describe('audit record codec', () => {
  test.prop([record])('a record survives encode, JSON and decode', (r) => {
    const stored = JSON.parse(JSON.stringify(encodeAuditRecord(r)));
    const back = decodeAuditRecord(stored);
    const expected = { ...r, ...(r.nodeId != null ? { nodeId: r.nodeId.slice(0, 256) } : {}) };
    // -0 is stored as 0 by JSON.
    if (expected.durationMs === 0) expected.durationMs = 0;
    expect(back).toEqual(expected);
  });

  test.prop([fc.uint8Array({ maxLength: 200 })])('random bytes decode or fail typed', (b) => {
    decodeOrInvalid(Buffer.from(b));
  });

  test.prop([fc.jsonValue()])('any JSON value decodes or fails typed', (v) => {
    decodeOrInvalid(Buffer.from(JSON.stringify(v) ?? 'null'));
  });

  test.prop([
    record,
    fc.constantFrom('v', 'time', 'kind', 'path', 'outcome', 'error', 'durationMs'),
    fc.jsonValue(),
  ])('a record with one field replaced decodes or fails typed', (r, field, value) => {
    const stored = { ...encodeAuditRecord(r), [field]: value };
    decodeOrInvalid(Buffer.from(JSON.stringify(stored)));
  });

  test('known bad values are refused', () => {
    const ok = encodeAuditRecord({ time: 1, kind: 'signal' });
    for (const bad of [
      { ...ok, v: 2 },
      { ...ok, time: -1 },
      { ...ok, kind: 'NOT A KIND' },
      { ...ok, path: 'teleported' },
      { ...ok, nodeId: 'x'.repeat(257) },
      { ...ok, error: 'boom' },
      [ok],
    ]) {
      expect(() => decodeAuditRecord(bad)).toThrow(errors.ErrorAuditRecordInvalid);
    }
  });
});

describe('audit record keys', () => {
  const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const seq = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

  test.prop([time, seq])('round-trip', (t, s) => {
    expect(parseRecordKey(recordKey(t, s))).toEqual({ time: t, seq: s });
  });

  test.prop([time, seq, time, seq])('byte order is (time, seq) order', (t1, s1, t2, s2) => {
    const byKey = Math.sign(Buffer.compare(recordKey(t1, s1), recordKey(t2, s2)));
    const byValue = Math.sign(t1 - t2) || Math.sign(s1 - s2);
    expect(byKey).toBe(byValue);
  });

  test.prop([fc.uint8Array({ maxLength: 40 })])('any bytes parse or fail typed', (b) => {
    try {
      const k = parseRecordKey(Buffer.from(b));
      expect(b.length).toBe(16);
      expect(Number.isSafeInteger(k.time) && Number.isSafeInteger(k.seq)).toBe(true);
    } catch (e) {
      expect(e).toBeInstanceOf(errors.ErrorAuditRecordInvalid);
    }
  });
});
