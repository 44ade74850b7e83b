import type { SimHost } from '../src/Network.js';
import { describe, test, expect } from '@jest/globals';
import Network from '../src/Network.js';
import { addSite, natConfigs } from '../src/presets.js';

/** Sends `count` datagrams from `from` to `to`'s port 3478 and says how many arrived. */
async function delivered(net: Network, from: SimHost, to: SimHost, count = 1): Promise<number> {
  const p = net.bind(from, 'ipv4');
  const q = net.bind(to, 'ipv4', 3478);
  let n = 0;
  q.onDatagram(() => n++);
  for (let i = 0; i < count; i++) await p.send(Uint8Array.of(i), q.localAddress);
  net.clock.advance(1_000);
  await p.close();
  await q.close();
  return n;
}

describe('fault injection hooks', () => {
  test('partitions heal one at a time; an island is cut from every other host', async () => {
    const net = new Network({ seed: 1 });
    const a = net.addHost({ name: 'a', ipv4: '198.51.100.1' });
    const b = net.addHost({ name: 'b', ipv4: '198.51.100.2' });
    const c = net.addHost({ name: 'c', ipv4: '198.51.100.3' });
    const ab = net.partition([a], [b]);
    const island = net.partition([c]);
    expect(net.isPartitioned(a, b)).toBe(true);
    expect(net.isPartitioned(a, c)).toBe(true);
    expect(net.isPartitioned(c, b)).toBe(true);
    expect(await delivered(net, a, b)).toBe(0);
    expect(await delivered(net, b, c)).toBe(0);
    net.heal(ab);
    expect(await delivered(net, a, b)).toBe(1);
    expect(await delivered(net, a, c)).toBe(0);
    net.heal(island);
    expect(net.isPartitioned(a, c)).toBe(false);
    expect(await delivered(net, a, c)).toBe(1);
  });

  test("a host's loss applies to what it sends and receives, and draws nothing when unset", async () => {
    const trace = async (withLoss: boolean) => {
      const net = new Network({ seed: 9, jitter: 5, trace: true });
      const a = net.addHost({ name: 'a', ipv4: '198.51.100.1' });
      const b = net.addHost({ name: 'b', ipv4: '198.51.100.2' });
      const c = net.addHost({ name: 'c', ipv4: '198.51.100.3' });
      if (withLoss) {
        net.setHostLoss(b, 1);
        expect(net.hostConditions(b).loss).toBe(1);
        expect(await delivered(net, a, b, 10)).toBe(0);
        expect(await delivered(net, b, c, 10)).toBe(0);
        net.setHostLoss(b, 0.5);
        const n = await delivered(net, a, b, 200);
        expect(n).toBeGreaterThan(60);
        expect(n).toBeLessThan(140);
        net.setHostLoss(b, 0);
        expect(net.hostConditions(b).loss).toBe(0);
      }
      const n = await delivered(net, a, c, 20);
      return { n, jitterTrace: net.trace!.slice(-20).map((t) => t.time) };
    };
    const plain = await trace(false);
    expect(plain.n).toBe(20);
    // Loss on b never consumed randomness for a -> c beyond its own draws: the a -> c part repeats.
    expect((await trace(false)).jitterTrace).toEqual(plain.jitterTrace);
    expect((await trace(true)).n).toBe(20);
  });

  test("a NAT's kind changes: its mappings are gone and the new filtering applies", async () => {
    const net = new Network({ seed: 2 });
    const { host, nats } = addSite(net, 'full-cone', { name: 'home', index: 1 });
    const obs = net.addHost({ name: 'obs', ipv4: '198.51.100.10' });
    const other = net.addHost({ name: 'other', ipv4: '198.51.100.11' });
    const p = net.bind(host, 'ipv4', 40000);
    const o = net.bind(obs, 'ipv4', 3478);
    const x = net.bind(other, 'ipv4', 3478);
    let got = 0;
    p.onDatagram(() => got++);
    await p.send(Uint8Array.of(1), o.localAddress);
    net.clock.advance(100);
    const mapped = { host: '203.0.113.2', port: 40000, family: 'ipv4' } as const;
    await x.send(Uint8Array.of(2), mapped as any);
    net.clock.advance(100);
    expect(got).toBe(1); // full cone: anyone reaches the mapping
    net.setNatConfig(nats[0], natConfigs['port-restricted']);
    expect(nats[0].nat.mappings(net.clock.now())).toEqual([]);
    await p.send(Uint8Array.of(3), o.localAddress);
    net.clock.advance(100);
    await x.send(Uint8Array.of(4), mapped as any);
    net.clock.advance(100);
    expect(got).toBe(1); // port-restricted: an uncontacted host is filtered
    expect(nats[0].nat.config.filtering).toBe('address-and-port-dependent');
  });

  test('a NAT renumbered: peers see the new address, the old one routes nowhere', async () => {
    const net = new Network({ seed: 3, trace: true });
    const { host, nats } = addSite(net, 'port-restricted', { name: 'home', index: 1 });
    const obs = net.addHost({ name: 'obs', ipv4: '198.51.100.10' });
    const p = net.bind(host, 'ipv4', 40000);
    const o = net.bind(obs, 'ipv4', 3478);
    const seen: Array<string> = [];
    o.onDatagram((_d, from) => seen.push(from.host));
    await p.send(Uint8Array.of(1), o.localAddress);
    net.clock.advance(100);
    net.renumberNat(nats[0], '203.0.113.77');
    await p.send(Uint8Array.of(2), o.localAddress);
    net.clock.advance(100);
    expect(seen).toEqual(['203.0.113.2', '203.0.113.77']);
    await o.send(Uint8Array.of(3), { host: '203.0.113.2', port: 40000, family: 'ipv4' } as any);
    net.clock.advance(100);
    expect(net.trace!.at(-1)).toMatchObject({ outcome: 'dropped', why: 'no route' });
    expect(() => net.renumberNat(nats[0], '198.51.100.10')).toThrow(/taken/);
  });
});
