import type { NodeId } from '@node-network/network-interface';
import { describe, test, expect } from '@jest/globals';
import fc from 'fast-check';
import * as identity from '@node-network/network-identity';
import { signal } from '../src/index.js';

const { errors } = signal;
const a = identity.generateKeyPair();
const b = identity.generateKeyPair();
const now = Date.UTC(2026, 10, 25);

const candidateArb = fc.oneof(
  fc.record({
    host: fc.ipV4(),
    port: fc.integer({ min: 1, max: 65535 }),
    family: fc.constant('ipv4' as const),
    kind: fc.constantFrom('local', 'reflexive', 'observed', 'upnp' as const),
  }),
  fc.record({
    host: fc.constantFrom('2001:db8::1', '::1', 'fe80::1', '2001:db8:1:2:3:4:5:6'),
    port: fc.integer({ min: 1, max: 65535 }),
    family: fc.constant('ipv6' as const),
    kind: fc.constantFrom('local', 'reflexive', 'observed', 'upnp' as const),
  }),
);
const hintArb = fc.record({
  mapping: fc.constantFrom(
    'endpoint-independent',
    'address-dependent',
    'endpoint-dependent',
    'unknown' as const,
  ),
  allocation: fc.constantFrom('preserve', 'sequential', 'random', 'unknown' as const),
  filtering: fc.constantFrom(
    'endpoint-independent',
    'address-dependent',
    'address-and-port-dependent',
    'unknown' as const,
  ),
});
const relayArb = fc.record({
  nodeId: fc.constant(null).map(() => identity.generateKeyPair().publicKey as NodeId),
  candidates: fc.array(candidateArb, { maxLength: signal.maxRelayCandidates }),
});
const requestArb = fc.record({
  candidates: fc.array(candidateArb, { maxLength: signal.maxCandidates }),
  nat: fc.record({ ipv4: hintArb, ipv6: hintArb }, { requiredKeys: [] }),
  nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  skew: fc.integer({ min: -signal.maxSkewMs, max: signal.maxSkewMs }),
});

function request(r: fc.infer<typeof requestArb>) {
  return signal.createSignalRequest({
    keyPair: a,
    network: 'mainnet',
    target: b.publicKey as NodeId,
    candidates: r.candidates,
    nat: r.nat,
    nonce: r.nonce,
    time: now + r.skew,
  });
}

const wire = (x: object) => JSON.parse(JSON.stringify(x));

describe('signal messages', () => {
  test('requests and answers survive the wire and verify; hop fields are not signed', () => {
    fc.assert(
      fc.property(
        requestArb,
        fc.array(candidateArb, { maxLength: 2 }),
        fc.array(relayArb, { maxLength: signal.maxRelays }),
        (r, observed, relays) => {
          const req = request(r);
          const back = signal.decodeSignalRequest(wire(signal.encodeSignalRequest(req)));
          expect(back).toEqual(req);
          signal.verifySignalRequest(back, { network: 'mainnet', now });
          // A hop adds itself and what it observed: still valid.
          const hopped = {
            ...back,
            hops: 1,
            path: [identity.generateKeyPair().publicKey as NodeId],
            observed,
          };
          signal.verifySignalRequest(
            signal.decodeSignalRequest(wire(signal.encodeSignalRequest(hopped))),
            { network: 'mainnet', now },
          );
          const ans = signal.createSignalAnswer({
            keyPair: b,
            network: 'mainnet',
            request: req,
            candidates: r.candidates,
            nat: r.nat,
            time: now,
            punchDelayMs: 0,
            relays,
          });
          const ansBack = signal.decodeSignalAnswer(
            wire(signal.encodeSignalAnswer({ ...ans, observed })),
          );
          expect(ansBack.relays).toEqual(relays);
          signal.verifySignalAnswer(ansBack, { network: 'mainnet', now, request: req });
          // The relays are signed: a hop cannot swap in its own.
          if (relays.length > 0) {
            const forged = wire(signal.encodeSignalAnswer(ans));
            forged.relays[0].nodeId = identity.encodeNodeId(a.publicKey as NodeId);
            expect(() =>
              signal.verifySignalAnswer(signal.decodeSignalAnswer(forged), {
                network: 'mainnet',
                now,
                request: req,
              }),
            ).toThrow(errors.ErrorSignalSignature);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  test('changing any signed field breaks the signature', () => {
    fc.assert(
      fc.property(requestArb, fc.integer({ min: 0, max: 4 }), (r, which) => {
        const req = request(r);
        const w = wire(signal.encodeSignalRequest(req));
        if (which === 0) w.time += 1;
        if (which === 1) w.target = identity.encodeNodeId(a.publicKey as NodeId);
        if (which === 2)
          w.candidates = [
            ...w.candidates,
            { host: '198.51.100.9', port: 9, family: 'ipv4', kind: 'local' },
          ].slice(-8);
        if (which === 3) w.nonce = Buffer.alloc(16, 7).toString('base64url');
        if (which === 4)
          w.nat = { ipv4: { mapping: 'unknown', allocation: 'unknown', filtering: 'unknown' } };
        const changed = signal.decodeSignalRequest(w);
        if (
          JSON.stringify(signal.encodeSignalRequest(changed)) ===
          JSON.stringify(signal.encodeSignalRequest(req))
        )
          return;
        expect(() => signal.verifySignalRequest(changed, { network: 'mainnet', now })).toThrow(
          errors.ErrorSignalSignature,
        );
      }),
      { numRuns: 50 },
    );
  });

  test('hostile input to the decoders gets only typed codec errors', () => {
    const good = wire(
      signal.encodeSignalRequest(
        request({ candidates: [], nat: {}, nonce: new Uint8Array(16), skew: 0 }),
      ),
    );
    const typed = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(
          e instanceof errors.ErrorSignalMalformed || e instanceof errors.ErrorSignalOversized,
        ).toBe(true);
      }
    };
    fc.assert(
      fc.property(fc.anything(), (x) => {
        typed(() => signal.decodeSignalRequest(x));
        typed(() => signal.decodeSignalAnswer(x));
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(good)), fc.anything(), (k, v) => {
        typed(() => signal.decodeSignalRequest({ ...good, [k]: v }));
      }),
    );
    expect(() => signal.decodeSignalRequest({ ...good, path: Array(9).fill(good.source) })).toThrow(
      errors.ErrorSignalOversized,
    );
    expect(() => signal.decodeSignalRequest({ ...good, network: 'x'.repeat(9000) })).toThrow(
      errors.ErrorSignalOversized,
    );
    expect(() => signal.decodeSignalRequest({ ...good, network: 'x'.repeat(300) })).toThrow(
      errors.ErrorSignalMalformed,
    );
    expect(() =>
      signal.decodeSignalRequest({
        ...good,
        candidates: [{ host: '1.2.3.4', port: 1, family: 'ipv6', kind: 'local' }],
      }),
    ).toThrow(errors.ErrorSignalMalformed);
    expect(() => signal.decodeSignalRequest({ ...good, version: 2 })).toThrow(
      errors.ErrorSignalMalformed,
    );
    // Answers' relay hints: bounded, typed.
    const goodAnswer = wire(
      signal.encodeSignalAnswer(
        signal.createSignalAnswer({
          keyPair: b,
          network: 'mainnet',
          request: request({ candidates: [], nat: {}, nonce: new Uint8Array(16), skew: 0 }),
          candidates: [],
          nat: {},
          time: now,
          punchDelayMs: 0,
        }),
      ),
    );
    fc.assert(
      fc.property(fc.anything(), (v) => {
        typed(() => signal.decodeSignalAnswer({ ...goodAnswer, relays: v }));
        typed(() => signal.decodeSignalAnswer({ ...goodAnswer, relays: [v] }));
        typed(() =>
          signal.decodeSignalAnswer({
            ...goodAnswer,
            relays: [{ nodeId: good.source, candidates: v }],
          }),
        );
      }),
    );
    const hint = { nodeId: good.source, candidates: [] };
    expect(() =>
      signal.decodeSignalAnswer({ ...goodAnswer, relays: Array(signal.maxRelays + 1).fill(hint) }),
    ).toThrow(errors.ErrorSignalOversized);
  });

  test('each check refuses with its own error', () => {
    const r = (skew = 0) =>
      request({ candidates: [], nat: {}, nonce: crypto.getRandomValues(new Uint8Array(16)), skew });
    expect(() => signal.verifySignalRequest(r(), { network: 'testnet', now })).toThrow(
      errors.ErrorSignalNetwork,
    );
    expect(() =>
      signal.verifySignalRequest(r(), { network: 'mainnet', now: now + 2 * signal.maxSkewMs }),
    ).toThrow(errors.ErrorSignalStale);
    const x = r();
    const c = identity.generateKeyPair().publicKey as NodeId;
    expect(() =>
      signal.verifySignalRequest({ ...x, hops: 2, path: [c] }, { network: 'mainnet', now }),
    ).toThrow(errors.ErrorSignalHopLimit);
    expect(() =>
      signal.verifySignalRequest({ ...x, hops: 2, path: [c, c] }, { network: 'mainnet', now }),
    ).toThrow(errors.ErrorSignalLoop);
    expect(() =>
      signal.verifySignalRequest({ ...x, hops: 1, path: [x.target] }, { network: 'mainnet', now }),
    ).toThrow(errors.ErrorSignalLoop);
    const replay = new signal.ReplayGuard();
    signal.verifySignalRequest(x, { network: 'mainnet', now, replay });
    expect(() => signal.verifySignalRequest(x, { network: 'mainnet', now, replay })).toThrow(
      errors.ErrorSignalReplay,
    );
    // Answers: from someone else, or for another request.
    const other = signal.createSignalAnswer({
      keyPair: a,
      network: 'mainnet',
      request: x,
      candidates: [],
      nat: {},
      time: now,
      punchDelayMs: 0,
    });
    expect(() => signal.verifySignalAnswer(other, { network: 'mainnet', now, request: x })).toThrow(
      errors.ErrorSignalMismatch,
    );
    const ans = signal.createSignalAnswer({
      keyPair: b,
      network: 'mainnet',
      request: r(),
      candidates: [],
      nat: {},
      time: now,
      punchDelayMs: 0,
    });
    expect(() => signal.verifySignalAnswer(ans, { network: 'mainnet', now, request: x })).toThrow(
      errors.ErrorSignalMismatch,
    );
  });
});

describe('rate limits, replays, routing', () => {
  test('a source never gets more than burst + rate x elapsed; others are unaffected until the global limit', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 300 }),
            fc.constantFrom('s1', 's2', 's3'),
            fc.constantFrom('t1', 't2'),
          ),
          { maxLength: 300 },
        ),
        (ops) => {
          const limiter = new signal.RateLimiter({
            perSource: { ratePerSecond: 5, burst: 10 },
            perTarget: { ratePerSecond: 10, burst: 20 },
            global: { ratePerSecond: 50, burst: 40 },
          });
          let t = 0;
          const granted: Record<string, number> = {};
          for (const [dt, s, tg] of ops) {
            t += dt;
            const r = limiter.take(t, s, tg);
            if (r.ok) {
              granted[s] = (granted[s] ?? 0) + 1;
              granted[tg] = (granted[tg] ?? 0) + 1;
              granted.all = (granted.all ?? 0) + 1;
            } else {
              expect(r.retryAfterMs).toBeGreaterThan(0);
            }
          }
          for (const s of ['s1', 's2', 's3'])
            expect(granted[s] ?? 0).toBeLessThanOrEqual(10 + (5 * t) / 1000 + 1e-9);
          for (const tg of ['t1', 't2'])
            expect(granted[tg] ?? 0).toBeLessThanOrEqual(20 + (10 * t) / 1000 + 1e-9);
          expect(granted.all ?? 0).toBeLessThanOrEqual(40 + (50 * t) / 1000 + 1e-9);
        },
      ),
    );
    const limiter = new signal.RateLimiter();
    for (let i = 0; i < 100; i++) limiter.take(0, 'flood', 'victim');
    expect(limiter.take(0, 'honest', 'victim').ok).toBe(true);
    const small = new signal.RateLimiter({ maxKeys: 5 });
    for (let i = 0; i < 50; i++) small.take(i, `s${i}`, `t${i}`);
    expect(small.size()).toEqual({ sources: 5, targets: 5 });
  });

  test('the replay guard is bounded and forgets only expired entries', () => {
    const g = new signal.ReplayGuard({ windowMs: 1_000, maxEntries: 3 });
    const n = (i: number) => new Uint8Array(16).fill(i);
    for (let i = 0; i < 3; i++) g.check(0, 's', n(i), 0);
    expect(() => g.check(0, 's', n(1), 0)).toThrow(errors.ErrorSignalReplay);
    expect(() => g.check(0, 's', n(9), 0)).toThrow(errors.ErrorSignalRateLimited);
    g.check(2_000, 's', n(9), 2_000);
    expect(g.size()).toBe(1);
  });

  test('greedy routing gets strictly closer at every hop and never loops', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 40 }), fc.integer({ min: 1, max: 6 }), (n, k) => {
        const ids = Array.from({ length: n }, () => identity.generateKeyPair().publicKey as NodeId);
        const big = (x: Uint8Array) => BigInt(`0x${Buffer.from(x).toString('hex')}`);
        const links = new Map<NodeId, Array<NodeId>>();
        for (const x of ids) {
          const near = ids
            .filter((y) => y !== x)
            .sort((p, q) => ((big(p) ^ big(x)) < (big(q) ^ big(x)) ? -1 : 1));
          links.set(x, near.slice(0, k));
        }
        const [source, target] = [ids[0], ids[n - 1]];
        let at = source;
        const path: Array<NodeId> = [];
        for (let hop = 0; hop < n; hop++) {
          const r = signal.nextHop({
            self: at,
            target,
            connected: links.get(at)!,
            path: [source, ...path],
          });
          if (r.kind !== 'forward') break;
          expect(big(r.to) ^ big(target)).toBeLessThan(big(at) ^ big(target));
          expect(path.includes(r.to)).toBe(false);
          path.push(r.to);
          at = r.to;
        }
      }),
      { numRuns: 30 },
    );
  });
});
