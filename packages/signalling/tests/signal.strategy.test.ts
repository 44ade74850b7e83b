import type { NATHint } from '../src/signal/types.js';
import { describe, test, expect } from '@jest/globals';
import fc from 'fast-check';
import crypto from 'node:crypto';
import {
  planPunch,
  birthdayProbability,
  probePorts,
  punchStrategyConfigDefault,
} from '../src/signal/strategy.js';

const hint: fc.Arbitrary<NATHint | undefined> = fc.option(
  fc.record({
    mapping: fc.constantFrom(
      'endpoint-independent',
      'address-dependent',
      'endpoint-dependent',
      'unknown',
    ),
    allocation: fc.constantFrom('preserve', 'sequential', 'random', 'unknown'),
    filtering: fc.constantFrom(
      'endpoint-independent',
      'address-dependent',
      'address-and-port-dependent',
      'unknown',
    ),
  }) as fc.Arbitrary<NATHint>,
  { nil: undefined },
);

describe('punch strategy', () => {
  test('both sides reach complementary plans from the same two hints', () => {
    fc.assert(
      fc.property(hint, hint, (a, b) => {
        const pa = planPunch(a, b);
        const pb = planPunch(b, a);
        switch (pa.kind) {
          case 'simple':
          case 'both-dependent':
            expect(pb.kind).toBe(pa.kind);
            break;
          case 'open-sockets':
            expect(pb.kind).toBe('probe-ports');
            // The prober's order follows the opener's NAT allocation.
            expect(pb.kind === 'probe-ports' && pb.order).toBe(pa.allocation);
            break;
          case 'probe-ports':
            expect(pb.kind).toBe('open-sockets');
            break;
        }
      }),
    );
  });

  test('a symmetric NAT with random ports against a port-restricted one is a birthday punch', () => {
    const sym: NATHint = {
      mapping: 'endpoint-dependent',
      allocation: 'random',
      filtering: 'address-and-port-dependent',
    };
    const pr: NATHint = {
      mapping: 'endpoint-independent',
      allocation: 'preserve',
      filtering: 'address-and-port-dependent',
    };
    expect(planPunch(sym, pr)).toEqual({
      kind: 'open-sockets',
      sockets: 256,
      allocation: 'random',
    });
    expect(planPunch(pr, sym)).toEqual({ kind: 'probe-ports', probes: 2048, order: 'random' });
    expect(planPunch(sym, sym).kind).toBe('both-dependent');
    expect(planPunch(pr, undefined).kind).toBe('simple');
  });

  test('birthday probability: the closed form, bounds and monotonicity', () => {
    // 1 - C(S - N, M) / C(S, M) for small numbers, by counting.
    expect(birthdayProbability({ sockets: 1, probes: 1, portSpace: 4 })).toBeCloseTo(0.25);
    expect(birthdayProbability({ sockets: 2, probes: 2, portSpace: 4 })).toBeCloseTo(1 - 1 / 6);
    expect(birthdayProbability({ sockets: 3, probes: 2, portSpace: 4 })).toBe(1);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 512 }), fc.integer({ min: 0, max: 4096 }), (n, m) => {
        const p = birthdayProbability({ sockets: n, probes: m });
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
        expect(birthdayProbability({ sockets: n + 1, probes: m })).toBeGreaterThanOrEqual(p);
        expect(birthdayProbability({ sockets: n, probes: m + 1 })).toBeGreaterThanOrEqual(p);
      }),
      { numRuns: 50 },
    );
    const d = punchStrategyConfigDefault;
    expect(
      birthdayProbability({ sockets: d.birthdaySockets, probes: d.birthdayProbes }),
    ).toBeGreaterThan(0.999);
  });

  test('probe ports: distinct, in the port space, sequential ones upward and wrapping', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 70000 }),
        fc.constantFrom('random', 'sequential') as fc.Arbitrary<'random' | 'sequential'>,
        (count, base, order) => {
          const ports = probePorts({ order, count, base, random: (n) => crypto.randomBytes(n) });
          expect(ports.length).toBe(count);
          expect(new Set(ports).size).toBe(count);
          for (const p of ports) {
            expect(p).toBeGreaterThanOrEqual(1024);
            expect(p).toBeLessThanOrEqual(65535);
          }
          if (order === 'sequential' && count > 1 && base >= 1024 && base < 65535) {
            expect(ports[0]).toBe(base + 1);
          }
        },
      ),
      { numRuns: 60 },
    );
    const wrap = probePorts({
      order: 'sequential',
      count: 3,
      base: 65534,
      random: () => new Uint8Array(),
    });
    expect(wrap).toEqual([65535, 1024, 1025]);
    // A broken random source is an error, not an endless loop.
    expect(() =>
      probePorts({ order: 'random', count: 5, random: (n) => new Uint8Array(n) }),
    ).toThrow(RangeError);
    const few = probePorts({ order: 'random', count: 5, random: (n) => crypto.randomBytes(n) });
    expect(new Set(few).size).toBe(5);
  });
});
