import { describe, test, expect } from '@jest/globals';
import { world } from './simWorld.js';
import { decodeSnapshot } from '../src/dashboard/snapshotCodec.js';

describe('explain and snapshot of punched and relayed paths (the real facade on netsim)', () => {
  test('a punched peer and a relayed peer: path, relay, signal hops, punch, both NATs; the snapshot draws them', async () => {
    const w = world(21);
    const hs = [];
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) hs.push(await w.add({ ip }));
    const seeds = hs.map((h, i) => `${h.nn.nodeIdEncoded}@198.51.100.${i + 1}:1314`);
    const a = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds });
    const b = await w.add({ kind: 'restricted' }, undefined, { seedNodes: seeds });
    const c = await w.add({ kind: 'symmetric' }, undefined, { seedNodes: seeds });
    for (const x of [a, b, c]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
    expect((await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 20_000 })).path).toBe(
      'punched',
    );
    expect((await a.nn.connect(c.nn.nodeIdEncoded, undefined, { timer: 30_000 })).path).toBe(
      'relayed',
    );

    const eb = await a.nn.explain(b.nn.nodeIdEncoded);
    expect(eb.connection).toMatchObject({ path: 'punched', initiator: expect.any(String) });
    expect(eb.signalling.some((s) => s.outcome === 'ok' && /^answered via/.test(s.detail!))).toBe(
      true,
    );
    expect(eb.punches.some((p) => p.outcome === 'ok')).toBe(true);
    expect(eb.nat.local.ipv4.kind).toBe('symmetric');
    expect(eb.nat.remote).toMatch(/ipv4 endpoint-independent/);
    expect(eb.text).toMatch(/by a punched path/);
    expect(eb.text).toMatch(/Signalling: \d+ records/);
    expect(eb.text).toMatch(/Punching: /);
    expect(eb.text).toMatch(/NAT: ours ipv4 symmetric.*theirs ipv4 endpoint-independent/);

    const ec = await a.nn.explain(c.nn.nodeIdEncoded);
    expect(ec.connection).toMatchObject({ path: 'relayed' });
    const relay = ec.connection!.relay!;
    expect(hs.map((h) => h.nn.nodeIdEncoded)).toContain(relay);
    expect(ec.relays.some((r) => r.outcome === 'ok')).toBe(true);
    expect(ec.text).toMatch(/by a relayed path at .* through relay /);
    expect(ec.text).toMatch(/Relays: /);

    // The relay sees its side: circuits it serves.
    const rs = hs.find((h) => h.nn.nodeIdEncoded === relay)!.nn.status().relayService!;
    expect(rs.circuits).toBeGreaterThanOrEqual(1);

    const s = decodeSnapshot(await a.nn.snapshot());
    expect(s.source).toBe('node');
    expect(s.nodes[0]).toMatchObject({ id: a.nn.nodeIdEncoded, up: true, nat: 'symmetric' });
    const link = (id: string) => s.links.find((l) => l.b === id);
    expect(link(b.nn.nodeIdEncoded)).toMatchObject({ a: a.nn.nodeIdEncoded, path: 'punched' });
    expect(link(c.nn.nodeIdEncoded)).toMatchObject({ path: 'relayed', via: relay });
    expect(s.nodes.find((n) => n.id === relay)).toMatchObject({ relay: true, up: true });
    // From its signal answer (filtering is unknown without NAT probe servers: 'cone').
    expect(s.nodes.find((n) => n.id === b.nn.nodeIdEncoded)?.nat).toMatch(/^(cone|restricted)$/);
    expect(s.events.length).toBeGreaterThan(0);
    expect(s.stats).toMatchObject({ punched: 1, relayed: 1 });
  }, 120_000);
});
