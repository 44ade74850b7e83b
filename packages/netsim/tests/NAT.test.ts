import type { Address } from '@node-network/network-interface';
import type { NATKind } from '../src/types.js';
import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import Network from '../src/Network.js';
import NAT from '../src/NAT.js';
import Random from '../src/Random.js';
import { addSite, natConfigs } from '../src/presets.js';

type Observed = {
  /** External endpoints seen by two observer IPs. */
  seenBy: [string | undefined, string | undefined];
  /** Did unsolicited packets arrive: from the contacted IP's other port, from an uncontacted IP. */
  otherPort: boolean;
  otherIp: boolean;
};

/** Measures a NAT kind the way the netns lab does: plain datagrams from behind it to two observers. */
async function probe(kind: NATKind): Promise<Observed> {
  const net = new Network({ seed: 42, latency: 5 });
  const { host } = addSite(net, kind, { name: 'client', index: 1 });
  const obs1 = net.addHost({ name: 'obs1', ipv4: '203.0.113.200', ipv6: '2001:db8:ff::1' });
  const obs2 = net.addHost({ name: 'obs2', ipv4: '203.0.113.201', ipv6: '2001:db8:ff::2' });
  const family = host.ipv4 == null ? 'ipv6' : 'ipv4';
  const client = net.bind(host, family, 40000);
  const o1 = net.bind(obs1, family, 3478);
  const o1b = net.bind(obs1, family, 3479);
  const o2 = net.bind(obs2, family, 3478);
  const seen: Array<Address | undefined> = [undefined, undefined];
  o1.onDatagram((_d, from) => (seen[0] = from));
  o2.onDatagram((_d, from) => (seen[1] = from));
  await client.send(Uint8Array.of(1), o1.localAddress);
  await client.send(Uint8Array.of(2), o2.localAddress);
  net.clock.advance(50);
  const got: Array<number> = [];
  client.onDatagram((d) => got.push(d[0]));
  const mapped = seen[0];
  if (mapped != null) {
    // Unsolicited: from obs1's other port, and from a third host never contacted.
    const stranger = net.addHost({
      name: 'stranger',
      ipv4: '203.0.113.202',
      ipv6: '2001:db8:ff::3',
    });
    const s = net.bind(stranger, family, 5000);
    await o1b.send(Uint8Array.of(10), mapped);
    await s.send(Uint8Array.of(20), mapped);
    net.clock.advance(50);
  }
  const fmt = (a?: Address) => (a == null ? undefined : `${a.host}:${a.port}`);
  return {
    seenBy: [fmt(seen[0]), fmt(seen[1])],
    otherPort: got.includes(10),
    otherIp: got.includes(20),
  };
}

describe('NAT presets behave like the lab kinds', () => {
  test('open: no translation, everything arrives', async () => {
    const o = await probe('open');
    expect(o.seenBy).toEqual(['203.0.113.2:40000', '203.0.113.2:40000']);
    expect(o.otherPort && o.otherIp).toBe(true);
  });
  test('full-cone: EIM, port preserved, no filtering', async () => {
    const o = await probe('full-cone');
    expect(o.seenBy).toEqual(['203.0.113.2:40000', '203.0.113.2:40000']);
    expect([o.otherPort, o.otherIp]).toEqual([true, true]);
  });
  test('restricted: EIM, address-dependent filtering', async () => {
    const o = await probe('restricted');
    expect(o.seenBy[0]).toBe(o.seenBy[1]);
    expect([o.otherPort, o.otherIp]).toEqual([true, false]);
  });
  test('port-restricted: EIM, address-and-port-dependent filtering', async () => {
    const o = await probe('port-restricted');
    expect(o.seenBy).toEqual(['203.0.113.2:40000', '203.0.113.2:40000']);
    expect([o.otherPort, o.otherIp]).toEqual([false, false]);
  });
  test('symmetric: a different random external port per destination, filtered', async () => {
    const o = await probe('symmetric');
    expect(o.seenBy[0]).not.toBe(o.seenBy[1]);
    expect(o.seenBy[0]!.startsWith('203.0.113.2:')).toBe(true);
    expect([o.otherPort, o.otherIp]).toEqual([false, false]);
  });
  test('double-nat: the outer NAT public address, filtered', async () => {
    const o = await probe('double-nat');
    expect(o.seenBy[0]).toBe(o.seenBy[1]);
    expect(o.seenBy[0]!.startsWith('203.0.113.2:')).toBe(true);
    expect([o.otherPort, o.otherIp]).toEqual([false, false]);
  });
  test('udp-blocked: nothing gets out', async () => {
    const o = await probe('udp-blocked');
    expect(o.seenBy).toEqual([undefined, undefined]);
  });
  test('ipv6-only: reaches IPv6 observers end to end', async () => {
    const o = await probe('ipv6-only');
    expect(o.seenBy[0]).toBe('2001:db8:1::2:40000');
  });
});

describe('NAT table', () => {
  const addr = (host: string, port: number) => ({ host, port, family: 'ipv4' }) as Address;

  test('a mapping expires after its lifetime and outbound traffic refreshes it', () => {
    const nat = new NAT({
      publicHost: '203.0.113.1' as any,
      config: natConfigs['full-cone'],
      rng: new Random(1),
    });
    const inside = addr('198.18.0.2', 40000);
    const peer = addr('203.0.113.9', 1);
    const ext = nat.outbound(0, inside, peer)!;
    expect(nat.inbound(20_000, ext.port, peer)).toEqual(inside);
    nat.outbound(25_000, inside, peer);
    expect(nat.inbound(50_000, ext.port, peer)).toEqual(inside);
    expect(nat.inbound(90_000, ext.port, peer)).toBeUndefined();
    expect(nat.mappings(90_000)).toHaveLength(0);
  });

  testProp.prop(
    [
      fc.constantFrom('full-cone', 'restricted', 'port-restricted', 'symmetric' as const),
      fc.array(
        fc.record({
          inPort: fc.integer({ min: 1024, max: 1040 }),
          inHost: fc.integer({ min: 2, max: 4 }),
          dstHost: fc.integer({ min: 1, max: 3 }),
          dstPort: fc.integer({ min: 1, max: 3 }),
          dt: fc.integer({ min: 0, max: 20_000 }),
        }),
        { maxLength: 60 },
      ),
      fc.integer(),
    ],
    { numRuns: 200 },
  )(
    'never maps two internal endpoints to one external port; filtering admits only contacted peers',
    (kind, ops, seed) => {
      const config = natConfigs[kind];
      const nat = new NAT({ publicHost: '203.0.113.1' as any, config, rng: new Random(seed) });
      let now = 0;
      const sent = new Map<number, Array<{ inside: string; peer: Address; at: number }>>();
      for (const op of ops) {
        now += op.dt;
        const inside = addr(`198.18.0.${op.inHost}`, op.inPort);
        const peer = addr(`203.0.113.${100 + op.dstHost}`, op.dstPort);
        const ext = nat.outbound(now, inside, peer)!;
        const list = sent.get(ext.port) ?? [];
        list.push({ inside: `${inside.host}:${inside.port}`, peer, at: now });
        sent.set(ext.port, list);
      }
      const live = nat.mappings(now);
      const ports = live.map((m) => m.externalPort);
      expect(new Set(ports).size).toBe(ports.length);
      for (const m of live) {
        for (const h of [101, 102, 103, 104]) {
          for (const p of [1, 2, 3, 4]) {
            const remote = addr(`203.0.113.${h}`, p);
            const admitted = nat.inbound(now, m.externalPort, remote);
            if (admitted == null) continue;
            const history = (sent.get(m.externalPort) ?? []).filter(
              (s) =>
                s.inside === `${m.internal.host}:${m.internal.port}` &&
                now - s.at <= config.mappingLifetime + 20_000 * 60,
            );
            if (config.filtering === 'address-dependent') {
              expect(history.some((s) => s.peer.host === remote.host)).toBe(true);
            }
            if (config.filtering === 'address-and-port-dependent') {
              expect(
                history.some((s) => s.peer.host === remote.host && s.peer.port === remote.port),
              ).toBe(true);
            }
          }
        }
      }
    },
  );
});

describe('Network', () => {
  async function run(seed: number): Promise<string> {
    const net = new Network({ seed, latency: 10, jitter: 20, loss: 0.2, trace: true });
    const hosts = Array.from(
      { length: 6 },
      (_, i) =>
        addSite(net, (['full-cone', 'port-restricted', 'symmetric'] as const)[i % 3], {
          name: `h${i}`,
          index: i + 1,
        }).host,
    );
    const server = net.addHost({ name: 'server', ipv4: '198.51.100.250' });
    const sp = net.bind(server, 'ipv4', 1000);
    sp.onDatagram((d, from) => void sp.send(d, from));
    for (const h of hosts) {
      const p = net.bind(h, 'ipv4');
      for (let i = 0; i < 5; i++) await p.send(Uint8Array.of(i), sp.localAddress);
    }
    for (let i = 0; i < 10; i++) {
      net.clock.advance(10);
      await Promise.resolve();
    }
    return JSON.stringify(net.trace);
  }

  test('the same seed gives the same trace; another seed differs', async () => {
    const a = await run(5);
    expect(await run(5)).toBe(a);
    expect(await run(6)).not.toBe(a);
  });

  test('partitions block traffic until healed', async () => {
    const net = new Network({ seed: 1 });
    const a = net.addHost({ name: 'a', ipv4: '198.51.100.1' });
    const b = net.addHost({ name: 'b', ipv4: '198.51.100.2' });
    const pa = net.bind(a, 'ipv4');
    const pb = net.bind(b, 'ipv4');
    let n = 0;
    pb.onDatagram(() => n++);
    net.partition([a], [b]);
    await pa.send(Uint8Array.of(1), pb.localAddress);
    net.clock.advance(100);
    expect(n).toBe(0);
    net.heal();
    await pa.send(Uint8Array.of(1), pb.localAddress);
    net.clock.advance(100);
    expect(n).toBe(1);
  });

  test('carries 10,000 hosts behind NATs in one process', async () => {
    const net = new Network({ seed: 3, latency: 20 });
    const server = net.addHost({ name: 'server', ipv4: '198.51.100.250' });
    const sp = net.bind(server, 'ipv4', 1000);
    let echoed = 0;
    sp.onDatagram((d, from) => void sp.send(d, from));
    const kinds = ['full-cone', 'restricted', 'port-restricted', 'symmetric', 'open'] as const;
    const heapBefore = process.memoryUsage().heapUsed;
    const ports = [];
    for (let i = 0; i < 10_000; i++) {
      const { host } = addSite(net, kinds[i % kinds.length], { name: `n${i}`, index: 1000 + i });
      const p = net.bind(host, 'ipv4');
      p.onDatagram(() => echoed++);
      ports.push(p);
    }
    const heapAfter = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    for (const p of ports) await p.send(Uint8Array.of(1), sp.localAddress);
    net.clock.advance(25);
    await new Promise((r) => setImmediate(r));
    net.clock.advance(25);
    const seconds = (performance.now() - t0) / 1000;
    expect(echoed).toBe(10_000);
    // Figures for the README (not asserted: speed is measured, never asserted).
    console.log(
      `netsim: 10000 hosts, ${((heapAfter - heapBefore) / 10_000 / 1024).toFixed(1)} KiB/host, ` +
        `${(net.stats.delivered / seconds).toFixed(0)} deliveries/s`,
    );
  });
});
