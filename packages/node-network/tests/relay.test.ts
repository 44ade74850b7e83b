import { describe, test, expect } from '@jest/globals';
import { DuplexHandler } from '@node-network/transport';
import type { Address, NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { test as testProp, fc } from '@fast-check/jest';
import { mergeHints } from '../src/NodeRelay.js';
import { chooseRelays, diversityKey } from '../src/relaySelection.js';
import { memoryOpener } from '@node-network/http-relay';
import { world } from './simWorld.js';

/** Echoes each message of a duplex call. */
class EchoHandler extends DuplexHandler {
  public handle = async function* (input: AsyncIterable<any>) {
    for await (const m of input) yield m;
  };
}

/** Three public nodes, and the seed list that names them. */
async function helpers(w: ReturnType<typeof world>) {
  const hs = [];
  for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) hs.push(await w.add({ ip }));
  return { hs, seeds: hs.map((h, i) => `${h.nn.nodeIdEncoded}@198.51.100.${i + 1}:1314`) };
}

describe('relayed connections through the facade on netsim', () => {
  test('symmetric to symmetric: punching cannot work, a public node relays, RPC runs end to end', async () => {
    const w = world(11);
    const { hs, seeds } = await helpers(w);
    const a = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds });
    const b = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds });
    for (const x of [a, b]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
    const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 30_000 });
    expect(r.path).toBe('relayed');
    expect(await a.nn.ping(b.nn.nodeId)).toBeGreaterThan(0);
    const [conn] = a.nn.status().connections.filter((c) => c.nodeId === b.nn.nodeIdEncoded);
    expect(conn.path).toBe('relayed');
    expect(hs.map((h) => h.nn.nodeIdEncoded)).toContain(conn.relay);
    // What A answers a lookup for B never names the relay's address as B's (chaosnet found that).
    const relayAddresses = hs.find((h) => h.nn.nodeIdEncoded === conn.relay)!.nn.addresses;
    expect(a.nn.addressesOf(b.nn.nodeId).filter((x) => relayAddresses.includes(x))).toEqual([]);
    // B sees the same: an inbound relayed connection from A, verified end to end.
    const [back] = b.nn.status().connections.filter((c) => c.nodeId === a.nn.nodeIdEncoded);
    expect(back).toMatchObject({ path: 'relayed', initiator: 'remote', relay: conn.relay });
    expect(await b.nn.ping(a.nn.nodeId)).toBeGreaterThan(0);
    // The audit says which relay, and that the punch could not work first.
    const audit = a.nn.status().audit;
    expect(
      audit.some((x) => x.kind === 'relay' && x.outcome === 'ok' && x.path === 'relayed'),
    ).toBe(true);
  }, 60_000);

  test('a relay that knows it is behind NAT refuses datagram circuits before binding, saying why', async () => {
    const w = world(17);
    const { hs, seeds } = await helpers(w);
    const r = await w.add({ kind: 'full-cone' }, undefined, { seedNodes: seeds });
    const a = await w.add({ kind: 'full-cone' }, undefined, { seedNodes: seeds });
    const b = await w.add({ kind: 'full-cone' }, undefined, { seedNodes: seeds });
    for (const x of [r, a, b]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
    expect(r.nn.status().nat.ipv4.mapping).toBe('endpoint-independent');
    for (const x of [a, b]) await x.nn.connect(r.nn.nodeIdEncoded, undefined, { timer: 30_000 });
    const toR = (a.nn as any).connectionManager.getConnection(r.nn.nodeId);
    const refused = await toR.rpc
      .unary('relayAllocate', { target: b.nn.nodeIdEncoded }, { timer: 5_000 })
      .then(
        () => undefined,
        (e: any) => e,
      );
    expect(refused?.data?.name).toBe('ErrorRelayDatagramUnavailable');
    expect(JSON.stringify(refused.data)).toMatch(
      /cannot be reached over ipv4: it is behind NAT \(/,
    );
    expect(r.nn.status().relayService).toMatchObject({ circuits: 0, relayed: 0 });
    // A public relay for the same pair serves one.
    const toH = await a.nn.connect(hs[0].nn.nodeIdEncoded, undefined, { timer: 30_000 });
    expect(toH.path).toBe('direct');
    await b.nn.connect(hs[0].nn.nodeIdEncoded, undefined, { timer: 30_000 });
    const viaH = (a.nn as any).connectionManager.getConnection(hs[0].nn.nodeId);
    const ok = await viaH.rpc.unary(
      'relayAllocate',
      { target: b.nn.nodeIdEncoded },
      { timer: 5_000 },
    );
    expect(typeof ok.port).toBe('number');
  }, 60_000);

  test('datagram circuits by default; a relay that serves none gets the stream circuit, and the audit says why', async () => {
    const w = world(13);
    const hs = [];
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      hs.push(await w.add({ ip }, undefined, { relay: { datagram: false } }));
    }
    const seeds = hs.map((h, i) => `${h.nn.nodeIdEncoded}@198.51.100.${i + 1}:1314`);
    const a = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds });
    const b = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds });
    for (const x of [a, b]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
    const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 30_000 });
    expect(r.path).toBe('relayed');
    const [conn] = a.nn.status().connections.filter((c) => c.nodeId === b.nn.nodeIdEncoded);
    expect(conn).toMatchObject({ path: 'relayed', circuit: 'stream' });
    expect(await a.nn.ping(b.nn.nodeId)).toBeGreaterThan(0);
    const why = a.nn
      .status()
      .audit.find((x) => x.kind === 'relay' && /no datagram circuit through/.test(x.detail ?? ''));
    expect(why?.error?.name).toBe('ErrorRelayDatagramUnavailable');
    // The same pair through relays that serve them: a datagram circuit.
    const w2 = world(13);
    const { hs: hs2, seeds: seeds2 } = await helpers(w2);
    const a2 = await w2.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds2 });
    const b2 = await w2.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds2 });
    for (const x of [a2, b2]) await x.nn.observeNat(hs2.map((h) => h.nn.nodeId));
    await a2.nn.connect(b2.nn.nodeIdEncoded, undefined, { timer: 30_000 });
    const [conn2] = a2.nn.status().connections.filter((c) => c.nodeId === b2.nn.nodeIdEncoded);
    expect(conn2).toMatchObject({ path: 'relayed', circuit: 'datagram' });
    const [back2] = b2.nn.status().connections.filter((c) => c.nodeId === a2.nn.nodeIdEncoded);
    expect(back2).toMatchObject({ path: 'relayed', circuit: 'datagram', initiator: 'remote' });
  }, 60_000);

  test('a relayed connection upgrades to a punched one once a punch works; the open call is not cut', async () => {
    const w = world(12);
    const { hs, seeds } = await helpers(w);
    const relay = { upgradeInterval: 4_000, upgradeAttempts: 3 };
    const a = await w.add({ kind: 'port-restricted' }, undefined, { seedNodes: seeds, relay });
    const b = await w.add({ kind: 'port-restricted' }, undefined, {
      seedNodes: seeds,
      relay,
      handlers: { echo: new EchoHandler({}) },
    });
    for (const x of [a, b]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
    // No datagram passes between A and B (their sites): no punch, so a relay.
    w.network.partition([a.host], [b.host]);
    const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 30_000 });
    expect(r.path).toBe('relayed');
    const relayed = a.nn.connectionManager.getConnection(b.nn.nodeId)!;
    // A call in flight on the relayed connection.
    const call = await relayed.rpc.duplex<any, any>('echo');
    const writer = call.writable.getWriter();
    const reader = call.readable.getReader();
    await writer.write({ n: 1 });
    expect((await reader.read()).value).toMatchObject({ n: 1 });
    // The path heals; the next upgrade attempt punches.
    w.network.heal();
    for (let i = 0; i < 200; i++) {
      const c = a.nn.status().connections.find((x) => x.nodeId === b.nn.nodeIdEncoded);
      if (c?.path === 'punched') break;
      await new Promise<void>((res) => w.network.clock.setTimer(500, res));
    }
    const now = a.nn.status().connections.find((x) => x.nodeId === b.nn.nodeIdEncoded)!;
    expect(now.path).toBe('punched');
    expect(
      a.nn.status().audit.some((x) => x.kind === 'relay' && /upgraded/.test(x.detail ?? '')),
    ).toBe(true);
    // New calls take the punched path; the old call still runs on the relayed one.
    expect(await a.nn.ping(b.nn.nodeId)).toBeGreaterThan(0);
    expect(relayed.connection.closed).toBe(false);
    await writer.write({ n: 2 });
    expect((await reader.read()).value).toMatchObject({ n: 2 });
    await writer.close();
    expect((await reader.read()).done).toBe(true);
    // With its last stream done, the relayed connection closes.
    for (let i = 0; i < 20 && !relayed.connection.closed; i++) {
      await new Promise<void>((res) => w.network.clock.setTimer(500, res));
    }
    expect(relayed.connection.closed).toBe(true);
    const [fromB] = b.nn.status().connections.filter((c) => c.nodeId === a.nn.nodeIdEncoded);
    expect(fromB.path).not.toBe('relayed');
  }, 120_000);

  test('the relay dies: both ends notice at once, and the dialler reconnects through another relay', async () => {
    const w = world(13);
    const { hs, seeds } = await helpers(w);
    const a = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds });
    const b = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds });
    for (const x of [a, b]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
    expect((await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 30_000 })).path).toBe(
      'relayed',
    );
    await a.nn.ping(b.nn.nodeId); // B's side of the tunnel is up once it answers
    const first = a.nn.status().connections.find((c) => c.nodeId === b.nn.nodeIdEncoded)!;
    const dying = hs.find((h) => h.nn.nodeIdEncoded === first.relay)!;
    const aClosed = new Promise<Error | undefined>((res) =>
      a.nn.connectionManager.getConnection(b.nn.nodeId)!.connection.onClose(res),
    );
    const bClosed = new Promise<Error | undefined>((res) =>
      b.nn.connectionManager.getConnection(a.nn.nodeId)!.connection.onClose(res),
    );
    const t0 = w.network.clock.now();
    await dying.nn.stop();
    await dying.t.stop();
    expect((await aClosed)?.message).toMatch(/relay/);
    expect((await bClosed)?.message).toMatch(/relay|closed/);
    // Noticed at once (the connections to the relay closed), not after an idle timeout.
    expect(w.network.clock.now() - t0).toBeLessThan(5_000);
    let again: typeof first | undefined;
    for (let i = 0; i < 60 && again == null; i++) {
      await new Promise<void>((res) => w.network.clock.setTimer(500, res));
      again = a.nn.status().connections.find((c) => c.nodeId === b.nn.nodeIdEncoded);
    }
    expect(again?.path).toBe('relayed');
    expect(again?.relay).not.toBe(first.relay);
    expect(await a.nn.ping(b.nn.nodeId)).toBeGreaterThan(0);
    expect(
      a.nn
        .status()
        .audit.some((x) => x.kind === 'relay' && /broke .*reconnected/.test(x.detail ?? '')),
    ).toBe(true);
  }, 120_000);
});

describe('HTTP relay fallback through the facade on netsim', () => {
  test('a node behind a UDP-blocking firewall reaches the network over a WebSocket relay, both ways', async () => {
    const w = world(14);
    const { hs, seeds } = await helpers(w);
    const r = await w.add({ ip: '198.51.100.9' }, undefined, { seedNodes: seeds });
    const rId = r.nn.nodeIdEncoded;
    // The simulator's TCP: an in-memory stream into R's WebSocket endpoint.
    const open = memoryOpener({
      clock: w.network.clock,
      server: r.nn.httpRelay!,
      local: { host: '198.18.0.2', port: 50000, family: 'ipv4' } as Address,
      remote: { host: '198.51.100.9', port: 8080, family: 'ipv4' } as Address,
    });
    const allSeeds = [...seeds, `${rId}@198.51.100.9:1314`];
    const u = await w.add({ kind: 'udp-blocked' }, undefined, {
      seedNodes: allSeeds,
      httpRelay: { relays: [`${rId}@ws://198.51.100.9:8080`], open },
    });
    const a = await w.add({ kind: 'port-restricted' }, undefined, { seedNodes: allSeeds });
    await a.nn.observeNat([...hs.map((h) => h.nn.nodeId), r.nn.nodeId]);
    // No UDP answer: U switches to the HTTP relay by itself.
    await u.nn.observeNat([...hs.map((h) => h.nn.nodeId), r.nn.nodeId], { timeoutMs: 1_000 });
    expect(u.nn.httpRelay!.active).toBe(true);
    const toR = u.nn.status().connections.find((c) => c.nodeId === rId);
    expect(toR?.path).toBe('http-relay');
    expect(u.nn.status().audit.some((x) => /UDP looks blocked/.test(x.detail ?? ''))).toBe(true);
    // A reaches U (signalled through R, relayed by R over the WebSocket leg)...
    const au = await a.nn.connect(u.nn.nodeIdEncoded, undefined, { timer: 30_000 });
    expect(au.path).toBe('http-relay');
    expect(await a.nn.ping(u.nn.nodeId)).toBeGreaterThan(0);
    // ...and U reaches a node it never met, straight through the relay.
    const b = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: allSeeds });
    await b.nn.observeNat([...hs.map((h) => h.nn.nodeId), r.nn.nodeId]);
    const ub = await u.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 30_000 });
    expect(ub.path).toBe('http-relay');
    expect(await u.nn.ping(b.nn.nodeId)).toBeGreaterThan(0);
  }, 120_000);
});

describe('HTTP relay: back to UDP', () => {
  test('UDP blocked for a while (a partition): HTTP relay; once UDP answers again the node moves back', async () => {
    const w = world(15);
    const { hs, seeds } = await helpers(w);
    const r = await w.add({ ip: '198.51.100.9' }, undefined, { seedNodes: seeds });
    const open = memoryOpener({
      clock: w.network.clock,
      server: r.nn.httpRelay!,
      local: { host: '198.51.100.20', port: 50000, family: 'ipv4' } as Address,
      remote: { host: '198.51.100.9', port: 8080, family: 'ipv4' } as Address,
    });
    const rSeed = `${r.nn.nodeIdEncoded}@198.51.100.9:1314`;
    const u = await w.add({ ip: '198.51.100.20' }, undefined, {
      seedNodes: [...seeds, rSeed],
      httpRelay: {
        relays: [`${r.nn.nodeIdEncoded}@ws://198.51.100.9:8080`],
        open,
        udpProbeInterval: 5_000,
        keepInUseInterval: 2_000,
      },
    });
    // Every datagram between U and the rest is dropped: UDP is blocked.
    w.network.partition([u.host], [...hs.map((h) => h.host), r.host]);
    await u.nn.observeNat([...hs.map((h) => h.nn.nodeId), r.nn.nodeId], { timeoutMs: 1_000 });
    expect(u.nn.httpRelay!.active).toBe(true);
    // The relay connection is kept in use: it outlives the relay's idle timeout.
    const relayConn = u.nn.connectionManager.getConnection(r.nn.nodeId)!.connection;
    await new Promise<void>((res) => w.network.clock.setTimer(4_000, res));
    expect(relayConn.closed).toBe(false);
    w.network.heal();
    for (let i = 0; i < 40 && u.nn.httpRelay!.active; i++) {
      await new Promise<void>((res) => w.network.clock.setTimer(500, res));
    }
    expect(u.nn.httpRelay!.active).toBe(false);
    expect(u.nn.status().audit.some((x) => /UDP works again/.test(x.detail ?? ''))).toBe(true);
    // New connections go over UDP again (not through the WebSocket).
    const a = await w.add({ kind: 'full-cone' }, undefined, { seedNodes: [...seeds, rSeed] });
    await a.nn.observeNat(hs.map((h) => h.nn.nodeId));
    const back = await u.nn.connect(a.nn.nodeIdEncoded, undefined, { timer: 20_000 });
    expect(back.path).not.toBe('http-relay');
    expect(await u.nn.ping(a.nn.nodeId)).toBeGreaterThan(0);
  }, 120_000);
});

describe('relay candidates', () => {
  test('a relay named without addresses (it is reached over WebSocket) gets the seed list addresses', () => {
    const [r, s, t, self] = [0, 1, 2, 3].map(() => identity.generateKeyPair().publicKey as NodeId);
    const c = (host: string) => ({
      host,
      port: 1314,
      family: 'ipv4' as const,
      kind: 'local' as const,
    });
    const merged = mergeHints(
      [
        { nodeId: r, candidates: [] },
        { nodeId: s, candidates: [c('192.0.2.2')] },
        { nodeId: self, candidates: [c('192.0.2.9')] },
        { nodeId: r, candidates: [c('192.0.2.1')] },
        { nodeId: s, candidates: [c('192.0.2.2'), c('192.0.2.3')] },
        { nodeId: t, candidates: [] },
      ],
      [identity.encodeNodeId(self), identity.encodeNodeId(t)],
    );
    expect(
      merged.map((h) => [identity.encodeNodeId(h.nodeId), h.candidates.map((x) => x.host)]),
    ).toEqual([
      [identity.encodeNodeId(r), ['192.0.2.1']],
      [identity.encodeNodeId(s), ['192.0.2.2', '192.0.2.3']],
    ]);
  });
});

describe('relay choice by latency and diversity', () => {
  const candidateArb = fc.record({
    nodeId: fc.uuid(),
    address: fc.oneof(
      fc.record({
        host: fc.constantFrom('198.51.100.1', '198.51.7.2', '203.0.113.5', '192.0.2.9'),
        port: fc.constant(1314),
        family: fc.constant('ipv4' as const),
      }),
      fc.record({
        host: fc.constantFrom('2001:db8::1', '2001:db8:0:1::2', '2001:db9::3', '2001:0db8::7'),
        port: fc.constant(1314),
        family: fc.constant('ipv6' as const),
      }),
    ),
    rttMs: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
    since: fc.nat(),
  });
  testProp.prop([
    fc.uniqueArray(candidateArb, { selector: (c) => c.nodeId, maxLength: 12 }),
    fc.nat(6),
  ])(
    'the fastest is named, every family and as many networks as fit, no repeats',
    (cands, count) => {
      const chosen = chooseRelays(cands, count);
      expect(chosen).toHaveLength(Math.min(count, cands.length));
      expect(new Set(chosen.map((c) => c.nodeId)).size).toBe(chosen.length);
      if (count === 0 || cands.length === 0) return;
      const rank = (c: (typeof cands)[number]) => c.rttMs ?? Infinity;
      const best = Math.min(...cands.map(rank));
      expect(rank(chosen[0])).toBe(best);
      // Fastest first.
      for (let i = 1; i < chosen.length; i++) {
        expect(rank(chosen[i])).toBeGreaterThanOrEqual(rank(chosen[i - 1]));
      }
      const families = new Set(cands.map((c) => c.address.family));
      if (count >= families.size) {
        expect(new Set(chosen.map((c) => c.address.family))).toEqual(families);
      }
      const networks = new Set(cands.map((c) => diversityKey(c.address)));
      expect(new Set(chosen.map((c) => diversityKey(c.address))).size).toBe(
        Math.min(count, networks.size),
      );
    },
  );

  test('IPv6 networks compare expanded (/32)', () => {
    const k = (host: string) => diversityKey({ host, port: 1, family: 'ipv6' });
    expect(k('2001:db8::1')).toBe(k('2001:0db8:0000::2'));
    expect(k('2001:db8::1')).not.toBe(k('2001:db9::1'));
    expect(k('::1')).toBe(k('0:0::2'));
  });

  test('a node behind a NAT names its fastest relays, in different networks, and says so in status', async () => {
    const w = world(21);
    // Three public nodes in one /16 (one far away), one in another /16.
    const near = await w.add({ ip: '198.51.100.1' });
    const far = await w.add({ ip: '198.51.100.2' });
    const nearToo = await w.add({ ip: '198.51.100.3' });
    const other = await w.add({ ip: '203.0.113.5' });
    w.network.setHostLatency(far.host, 150);
    w.network.setHostLatency(nearToo.host, 5);
    w.network.setHostLatency(other.host, 40);
    const a = await w.add({ kind: 'port-restricted' }, undefined, { relay: { advertise: 2 } });
    for (const h of [near, far, nearToo, other]) {
      await a.nn.connect(h.nn.nodeIdEncoded, [`${h.host.ipv4}:1314`]);
    }
    for (let i = 0; i < 3; i++) await a.nn.relay!.refresh();
    const relays = a.nn.status().relays;
    expect(relays.map((r) => r.nodeId)).toEqual([near.nn.nodeIdEncoded, other.nn.nodeIdEncoded]);
    expect(relays[0].rttMs!).toBeLessThan(relays[1].rttMs!);
    // The far one is not named, though held longer than `other`.
    expect(a.nn.relay!.ourRelays().map((h) => identity.encodeNodeId(h.nodeId))).not.toContain(
      far.nn.nodeIdEncoded,
    );
  }, 60_000);
});
