import type { DnsMessage } from '../../src/mdns/protocol/dnsCodec.js';
import type { NodeId } from '@node-network/network-interface';
import crypto from 'node:crypto';
import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import * as identity from '@node-network/network-identity';
import { RType, decodeMessage } from '../../src/mdns/protocol/dnsCodec.js';
import MdnsEngine from '../../src/mdns/protocol/MdnsEngine.js';
import QuerySchedule from '../../src/mdns/protocol/QuerySchedule.js';
import Responder, { message } from '../../src/mdns/protocol/Responder.js';
import { advertRecords, serviceDomain } from '../../src/mdns/protocol/serviceRecords.js';
import MdnsDiscovery from '../../src/mdns/MdnsDiscovery.js';
import * as events from '../../src/events.js';
import { ManualClock, MemoryLink, seeded } from './utils.js';

const advert = (instance: string, host = instance) => ({
  instance,
  port: 1314,
  txt: { id: instance, net: 'testnet' },
  host,
  addresses: ['198.18.0.9', '2001:db8::9'],
});

/** Runs an engine alone for `ms` (virtual), returning the queries it sent and when. */
function runAlone(engine: MdnsEngine, ms: number, start = 0): Array<{ t: number; m: DnsMessage }> {
  const out: Array<{ t: number; m: DnsMessage }> = [];
  engine.start(start);
  let now = start;
  for (;;) {
    for (let t = engine.pollTransmit(); t != null; t = engine.pollTransmit()) {
      if (!t.message.response) out.push({ t: now, m: t.message });
    }
    const next = engine.pollTimeout();
    if (next == null || next > start + ms) break;
    now = Math.max(now, next);
    engine.handleTimeout(now);
  }
  return out;
}

function newNodeId(): NodeId {
  return identity.nodeIdFromPublicKey(crypto.randomBytes(32));
}

describe('query schedule (RFC 6762 5.2)', () => {
  test('first query after 20-120 ms, then 1 s, 2 s, 4 s, ... capped', () => {
    for (let seed = 1; seed < 50; seed++) {
      const s = new QuerySchedule(seeded(seed), { maxInterval: 16_000 });
      s.start(0);
      expect(s.nextDue).toBeGreaterThanOrEqual(20);
      expect(s.nextDue).toBeLessThanOrEqual(120);
      const times = [s.nextDue!];
      for (let i = 0; i < 8; i++) {
        s.sent(times[times.length - 1]);
        times.push(s.nextDue!);
      }
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      expect(gaps).toEqual([1000, 2000, 4000, 8000, 16000, 16000, 16000, 16000]);
    }
  });

  test('an engine alone: backoff, and never more than the per-minute budget', () => {
    const engine = new MdnsEngine({ random: seeded(7), maxQueriesPerMinute: 12 });
    const qs = runAlone(engine, 3600_000);
    expect(qs[0].t).toBeGreaterThanOrEqual(20);
    expect(qs[0].t).toBeLessThanOrEqual(120);
    const gaps = qs.slice(1, 8).map((q, i) => q.t - qs[i].t);
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 64000]);
    // 12 doublings reach an hour: about a dozen queries in the first hour, not one a second.
    expect(qs.length).toBeLessThanOrEqual(14);
    for (const q of qs) {
      expect(qs.filter((x) => x.t > q.t - 60_000 && x.t <= q.t).length).toBeLessThanOrEqual(12);
      expect(q.m.questions[0]).toMatchObject({ name: serviceDomain, type: RType.PTR, qu: false });
    }
  });

  test('many incomplete instances: resolve queries stay within the budget', () => {
    const engine = new MdnsEngine({ random: seeded(3), maxQueriesPerMinute: 6 });
    engine.start(0);
    // 40 PTRs with nothing else: each instance wants SRV/TXT queries.
    engine.handleMessage(
      1,
      encode(
        message(true, {
          answers: Array.from({ length: 40 }, (_, i) => ({
            name: serviceDomain,
            type: RType.PTR,
            cacheFlush: false,
            ttl: 4500,
            data: { kind: 'PTR' as const, name: `i${i}.${serviceDomain}` },
          })),
        }),
      ),
      { host: '198.18.0.7', port: 5353 },
    );
    const times: Array<number> = [];
    let now = 1;
    while (now < 300_000) {
      for (let t = engine.pollTransmit(); t != null; t = engine.pollTransmit()) {
        if (!t.message.response) times.push(now);
      }
      const next = engine.pollTimeout();
      if (next == null) break;
      now = Math.max(now, next);
      engine.handleTimeout(now);
    }
    for (const t of times) {
      expect(times.filter((x) => x > t - 60_000 && x <= t).length).toBeLessThanOrEqual(6);
    }
    expect(engine.stats.deferredByBudget).toBeGreaterThan(0);
  });
});

function encode(m: DnsMessage): Uint8Array {
  // encodeMessage via the engine's path: import lazily to keep one codec
  return encodeMsg(m);
}
import { encodeMessage as encodeMsg } from '../../src/mdns/protocol/dnsCodec.js';

/** A running responder (probed and announced) and the time it got there. */
function runningResponder(instance: string): { r: Responder; now: number } {
  const r = new Responder(advert(instance), seeded(1));
  r.start(0);
  let now = 0;
  while (r.state !== 'running') {
    now = r.pollTimeout()!;
    r.handleTimeout(now);
    while (r.pollTransmit() != null);
  }
  return { r, now };
}

describe('responder (RFC 6762 6-8)', () => {
  test('probes three times 250 ms apart, announces twice 1 s apart', () => {
    const r = new Responder(advert('vx'), seeded(2));
    r.start(0);
    const sent: Array<{ t: number; probe: boolean }> = [];
    for (let i = 0; i < 10; i++) {
      const t = r.pollTimeout();
      if (t == null) break;
      r.handleTimeout(t);
      for (let x = r.pollTransmit(); x != null; x = r.pollTransmit()) {
        sent.push({ t, probe: !x.message.response });
        if (!x.message.response) expect(x.message.authorities.length).toBeGreaterThan(0);
      }
    }
    expect(sent.map((s) => s.probe)).toEqual([true, true, true, false, false]);
    expect(sent[0].t).toBeLessThanOrEqual(250);
    const gaps = sent.slice(1).map((s, i) => s.t - sent[i].t);
    expect(gaps).toEqual([250, 250, 250, 1000]);
    expect(r.state).toBe('running');
  });

  test('known-answer suppression: no answer when the querier knows it with >= half its TTL', () => {
    const { r, now } = runningResponder('vka');
    const ptr = advertRecords(advert('vka'))[0];
    const ask = (ttl?: number) => {
      r.handleQuery(
        now + 5000,
        message(false, {
          questions: [{ name: serviceDomain, type: RType.PTR, qu: false }],
          answers: ttl != null ? [{ ...ptr, ttl }] : [],
        }),
        { host: '198.18.0.5', port: 5353 },
      );
      r.handleTimeout(now + 5200);
      return r.pollTransmit();
    };
    expect(ask(4500)).toBeUndefined();
    expect(ask(2250)).toBeUndefined();
    expect(r.stats.suppressedByKnownAnswer).toBe(2);
    const answer = ask(2249);
    expect(answer?.message.answers[0]).toMatchObject({ name: serviceDomain, type: RType.PTR });
    // The PTR answer brings SRV, TXT and addresses as additionals (RFC 6763 12.1).
    expect(answer!.message.additionals.map((a) => a.type).sort()).toEqual(
      [RType.SRV, RType.TXT, RType.A, RType.AAAA].sort(),
    );
    // Asked again at once: not multicast twice within a second.
    expect(ask()).toBeUndefined();
    expect(r.stats.rateLimited).toBe(1);
  });

  test('legacy unicast queries get a unicast answer, TTL at most 10 s, the id echoed', () => {
    const { r, now } = runningResponder('vleg');
    r.handleQuery(
      now,
      {
        ...message(false, { questions: [{ name: serviceDomain, type: RType.PTR, qu: false }] }),
        id: 77,
      },
      {
        host: '198.18.0.5',
        port: 40000,
      },
    );
    const t = r.pollTransmit();
    expect(t?.to).toEqual({ host: '198.18.0.5', port: 40000 });
    expect(t?.message.id).toBe(77);
    expect(Math.max(...t!.message.answers.map((a) => a.ttl))).toBe(10);
  });

  test('goodbyes on stop: every record again with TTL 0', () => {
    const { r } = runningResponder('vbye');
    r.stop();
    const t = r.pollTransmit();
    expect(t?.message.answers.length).toBe(advertRecords(advert('vbye')).length);
    expect(t?.message.answers.every((a) => a.ttl === 0)).toBe(true);
  });

  test('a response claiming our SRV with other data is a conflict', () => {
    const { r } = runningResponder('vdup');
    const srv = advertRecords(advert('vdup')).find((x) => x.type === RType.SRV)!;
    r.handleResponse(
      message(true, {
        answers: [
          { ...srv, data: { kind: 'SRV', priority: 0, weight: 0, port: 9, target: 'other.local' } },
        ],
      }),
    );
    expect(r.state).toBe('conflict');
  });

  testProp.prop([fc.uint8Array({ maxLength: 400 })])(
    'hostile datagrams: counted as malformed, never thrown',
    (b) => {
      const e = new MdnsEngine({ random: seeded(1), advert: advert('vh') });
      e.start(0);
      e.handleMessage(10, b, { host: '198.18.0.66', port: 5353 });
      e.handleTimeout(2000);
      expect(e.stats.received).toBe(1);
    },
  );
});

describe('browser (RFC 6762 5, 7, 10)', () => {
  test('queries carry known answers; a matching query from another host counts as ours', () => {
    const engine = new MdnsEngine({ random: seeded(5) });
    engine.start(0);
    const a = advertRecords(advert('vpeer'));
    engine.handleMessage(10, encodeMsg(message(true, { answers: a })), {
      host: '198.18.0.9',
      port: 5353,
    });
    expect(engine.pollEvent()).toMatchObject({
      type: 'found',
      sighting: { instance: 'vpeer', port: 1314 },
    });
    engine.handleTimeout(200);
    const q = engine.pollTransmit()!;
    expect(q.message.questions[0].type).toBe(RType.PTR);
    expect(q.message.answers.map((x) => x.data)).toEqual([
      { kind: 'PTR', name: `vpeer.${serviceDomain}` },
    ]);
    expect(engine.stats.knownAnswersSent).toBe(1);
    // Another host asks the same with the same known answer just before our next query (due at ~1.2 s).
    engine.handleMessage(1100, encodeMsg(q.message), { host: '198.18.0.10', port: 5353 });
    expect(engine.stats.suppressedByDuplicate).toBe(1);
    engine.handleTimeout(1300);
    expect(engine.pollTransmit()).toBeUndefined();
  });

  test('an announcement without host addresses: addresses seen before are used, else asked at once', () => {
    const recs = advertRecords(advert('vsplit', 'hs'));
    const service = recs.filter((r) => r.type !== RType.A && r.type !== RType.AAAA);
    const hostRecs = recs.filter((r) => r.type === RType.A || r.type === RType.AAAA);
    const from = { host: '198.18.0.9', port: 5353 };
    // avahi announces its host's addresses on their own, earlier.
    const e1 = new MdnsEngine({ random: seeded(8) });
    e1.start(0);
    e1.handleMessage(5, encodeMsg(message(true, { answers: hostRecs })), from);
    e1.handleMessage(10, encodeMsg(message(true, { answers: service })), from);
    expect(e1.pollEvent()).toMatchObject({ type: 'found', sighting: { instance: 'vsplit' } });
    // Not seen before: the SRV's arrival makes the engine ask for the addresses in the same tick.
    const e2 = new MdnsEngine({ random: seeded(9) });
    e2.start(0);
    e2.handleMessage(500, encodeMsg(message(true, { answers: service })), from);
    while (e2.pollTransmit() != null);
    e2.handleTimeout(500);
    const q = e2.pollTransmit();
    expect(q?.message.questions.map((x) => [x.name, x.type])).toEqual(
      expect.arrayContaining([
        ['hs.local', RType.A],
        ['hs.local', RType.AAAA],
      ]),
    );
    e2.handleMessage(520, encodeMsg(message(true, { answers: hostRecs })), from);
    expect(e2.pollEvent()).toMatchObject({ type: 'found', sighting: { instance: 'vsplit' } });
  });

  test('a goodbye drops the instance after one second; silence drops it when its TTL runs out', () => {
    const engine = new MdnsEngine({ random: seeded(6) });
    engine.start(0);
    const recs = advertRecords(advert('vgone'));
    engine.handleMessage(10, encodeMsg(message(true, { answers: recs })), {
      host: '198.18.0.9',
      port: 5353,
    });
    expect(engine.pollEvent()?.type).toBe('found');
    engine.handleMessage(
      5000,
      encodeMsg(message(true, { answers: advertRecords(advert('vgone'), 0) })),
      {
        host: '198.18.0.9',
        port: 5353,
      },
    );
    engine.handleTimeout(5999);
    expect(engine.pollEvent()).toBeUndefined();
    engine.handleTimeout(6000);
    expect(engine.pollEvent()).toEqual({ type: 'lost', instance: 'vgone', reason: 'goodbye' });
    // Silent peer: SRV and addresses (TTL 120 s) expire; refresh queries at 80-95% go unanswered.
    engine.handleMessage(7000, encodeMsg(message(true, { answers: recs })), {
      host: '198.18.0.9',
      port: 5353,
    });
    expect(engine.pollEvent()?.type).toBe('found');
    let refreshes = 0;
    let now = 7000;
    while (now < 7000 + 121_000) {
      now = Math.min(engine.pollTimeout()!, 7000 + 121_000);
      engine.handleTimeout(now);
      for (let t = engine.pollTransmit(); t != null; t = engine.pollTransmit()) {
        if (t.message.questions.some((x) => x.type === RType.SRV)) refreshes++;
      }
    }
    expect(refreshes).toBeGreaterThanOrEqual(3);
    expect(engine.pollEvent()).toEqual({ type: 'lost', instance: 'vgone', reason: 'expired' });
  });
});

describe('MdnsDiscovery over an in-memory link with a manual clock', () => {
  test('same network found within 2 s, other network ignored, goodbye drops a peer', async () => {
    const clock = new ManualClock();
    const link = new MemoryLink();
    const make = (net: 'testnet' | 'mainnet', addr: number, seed: number) => {
      const host = link.host([`198.18.0.${addr}`, `2001:db8::${addr}`]);
      const d = new MdnsDiscovery({
        nodeId: newNodeId(),
        networkId: net,
        port: 1000 + addr,
        clock,
        backend: 'responder',
        responder: { ...host, random: seeded(seed) },
      });
      const seen: Array<{ t: number; e: Event }> = [];
      for (const E of [
        events.EventMdnsPeer,
        events.EventMdnsPeerGone,
        events.EventMdnsPeerIgnored,
      ]) {
        d.addEventListener(E.name, (e) => seen.push({ t: clock.now(), e }));
      }
      return { d, seen };
    };
    const a = make('testnet', 1, 1);
    const b = make('testnet', 2, 2);
    const c = make('mainnet', 3, 3);
    const t0 = clock.now();
    await Promise.all([a.d.start(), b.d.start(), c.d.start()]);
    await clock.advance(2000);
    const peerOf = (x: typeof a) =>
      x.seen
        .filter((s) => s.e instanceof events.EventMdnsPeer)
        .map((s) => s.e as events.EventMdnsPeer);
    expect(peerOf(a).map((e) => e.detail.nodeIdEncoded)).toEqual([b.d.nodeIdEncoded]);
    expect(peerOf(b).map((e) => e.detail.nodeIdEncoded)).toEqual([a.d.nodeIdEncoded]);
    expect(peerOf(c)).toEqual([]);
    expect(a.seen.find((s) => s.e instanceof events.EventMdnsPeer)!.t - t0).toBeLessThan(2000);
    expect(peerOf(a)[0].detail.addresses).toEqual([
      { host: '198.18.0.2', port: 1002, family: 'ipv4' },
      { host: '2001:db8::2', port: 1002, family: 'ipv6' },
    ]);
    const ignored = a.seen.filter((s) => s.e instanceof events.EventMdnsPeerIgnored);
    expect(ignored.map((s) => (s.e as events.EventMdnsPeerIgnored).detail)).toEqual([
      expect.objectContaining({
        reason: 'other-network',
        networkId: 'mainnet',
        nodeIdEncoded: c.d.nodeIdEncoded,
      }),
    ]);
    // A minute of steady state: a handful of datagrams, not a storm.
    const before = link.sent.length;
    await clock.advance(60_000);
    expect(link.sent.length - before).toBeLessThan(40);
    const tStop = clock.now();
    await b.d.stop();
    await clock.advance(1500);
    const gone = a.seen.find((s) => s.e instanceof events.EventMdnsPeerGone)!;
    expect((gone.e as events.EventMdnsPeerGone).detail).toMatchObject({
      nodeIdEncoded: b.d.nodeIdEncoded,
      reason: 'goodbye',
    });
    expect(gone.t - tStop).toBeLessThanOrEqual(1100);
    expect(a.d.peers()).toEqual([]);
    await a.d.stop();
    await c.d.stop();
  });

  test('IPv6 only, link-local only: found over ff02::fb, the address zoned to our interface', async () => {
    const clock = new ManualClock();
    const link = new MemoryLink();
    const ds = [1, 2].map(
      (i) =>
        new MdnsDiscovery({
          nodeId: newNodeId(),
          networkId: 'testnet',
          port: 1314,
          clock,
          backend: 'responder',
          responder: { ...link.host([`fe80::${i}`]), random: seeded(i), families: ['ipv6'] },
        }),
    );
    await Promise.all(ds.map((d) => d.start()));
    await clock.advance(2000);
    expect(ds[0].peers()[0].addresses).toEqual([
      { host: 'fe80::2', port: 1314, family: 'ipv6', zone: 'eth0' },
    ]);
    expect(link.sent.every((s) => s.family === 'ipv6')).toBe(true);
    expect(decodeMessage(link.sent[0].data)).toBeDefined();
    await Promise.all(ds.map((d) => d.stop()));
  });
});
