import type { NetworkSnapshot } from '../../src/dashboard/types.js';
import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import { decodeSnapshot, parseSnapshot } from '../../src/dashboard/snapshotCodec.js';
import * as errors from '../../src/errors.js';

const id = fc.string({ minLength: 1, maxLength: 40 });
const snapshot: fc.Arbitrary<NetworkSnapshot> = fc.record(
  {
    time: fc.integer({ min: 0, max: 2 ** 45 }),
    source: fc.constantFrom('node', 'chaosnet'),
    title: fc.string({ maxLength: 50 }),
    nodes: fc.array(
      fc.record(
        {
          id,
          label: fc.string({ maxLength: 30 }),
          nat: fc.constantFrom('none', 'full-cone', 'symmetric'),
          up: fc.boolean(),
          relay: fc.boolean(),
          addresses: fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }),
        },
        { requiredKeys: ['id', 'up'] },
      ),
      { maxLength: 8 },
    ),
    links: fc.array(
      fc.record(
        {
          a: id,
          b: id,
          path: fc.constantFrom('direct', 'punched', 'relayed', 'http-relay'),
          via: id,
        },
        { requiredKeys: ['a', 'b', 'path'] },
      ),
      { maxLength: 8 },
    ),
    events: fc.array(
      fc.record(
        {
          time: fc.integer({ min: 0, max: 2 ** 45 }),
          kind: fc.string({ maxLength: 20 }),
          text: fc.string({ unit: 'binary', maxLength: 100 }),
          level: fc.constantFrom('info' as const, 'warn' as const, 'error' as const),
        },
        { requiredKeys: ['time', 'kind', 'text'] },
      ),
      { maxLength: 5 },
    ),
    stats: fc.dictionary(fc.string({ maxLength: 20 }), fc.integer()),
  },
  { requiredKeys: ['time', 'source', 'nodes', 'links', 'events'] },
);

function decodeOrInvalid(v: unknown): NetworkSnapshot | 'invalid' {
  try {
    return decodeSnapshot(v);
  } catch (e) {
    expect(e).toBeInstanceOf(errors.ErrorNetworkSnapshotInvalid);
    return 'invalid';
  }
}

describe('network snapshot codec', () => {
  test.prop([snapshot])('a snapshot survives JSON and decode', (s) => {
    expect(parseSnapshot(JSON.stringify(s))).toEqual(s);
  });

  test.prop([fc.jsonValue()])('any JSON decodes or fails typed', (v) => {
    decodeOrInvalid(v);
  });

  test.prop([
    snapshot,
    fc.constantFrom('time', 'source', 'nodes', 'links', 'events', 'stats', 'title'),
    fc.jsonValue(),
  ])('a snapshot with one field replaced decodes or fails typed', (s, field, value) => {
    decodeOrInvalid({ ...s, [field]: value });
  });

  test('hostile and malformed input', () => {
    const ok = { time: 1, source: 'node', nodes: [], links: [], events: [] };
    const bad: Array<unknown> = [
      null,
      [],
      'snapshot',
      { ...ok, time: 'now' },
      { ...ok, time: Infinity },
      { ...ok, nodes: {} },
      { ...ok, nodes: [{ id: 'a' }] },
      { ...ok, nodes: [{ id: 7, up: true }] },
      { ...ok, nodes: [{ id: 'a', up: 'yes' }] },
      { ...ok, nodes: [{ id: 'x'.repeat(300), up: true }] },
      { ...ok, nodes: [{ id: 'a', up: true, addresses: Array(100).fill('1.2.3.4:5') }] },
      { ...ok, nodes: Array.from({ length: 10_001 }, (_, i) => ({ id: `n${i}`, up: true })) },
      { ...ok, links: [{ a: 'a', b: 'b' }] },
      { ...ok, events: [{ time: 1, kind: 'k', text: 'x'.repeat(5000) }] },
      { ...ok, events: [{ time: 1, kind: 'k', text: 't', level: 'panic' }] },
      { ...ok, stats: { a: 'one' } },
      { ...ok, stats: [] },
    ];
    for (const b of bad)
      expect(() => decodeSnapshot(b)).toThrow(errors.ErrorNetworkSnapshotInvalid);
    for (const t of ['', '{', 'nul', '{"time":1}', '\u0000']) {
      expect(() => parseSnapshot(t)).toThrow(errors.ErrorNetworkSnapshotInvalid);
    }
    expect(() => parseSnapshot(' '.repeat(16 * 1024 * 1024 + 1))).toThrow(
      errors.ErrorNetworkSnapshotInvalid,
    );
    // Unknown fields are dropped; a `__proto__` stat is only a name.
    const s = parseSnapshot(
      JSON.stringify({ ...ok, extra: 1 }).replace('}', ',"stats":{"__proto__":5}}'),
    );
    expect(s).not.toHaveProperty('extra');
    expect(Object.getPrototypeOf(s.stats)).toBe(Object.prototype);
    expect(Object.entries(s.stats!)).toEqual([['__proto__', 5]]);
  });
});
