import type { NATKind } from '@node-network/netsim';
import { describe, test, expect } from '@jest/globals';
import { Network, addSite, natConfigs, Random } from '@node-network/netsim';
import NATProbeServer from '../src/probe/NATProbeServer.js';
import { probeFiltering, probeMappingLifetime, filteringFrom } from '../src/probe/NATProber.js';
import { encodeProbeMessage } from '../src/probe/messages.js';

/** A probe server on the simulated internet: main and other port on one host, other host beside it. */
function world(seed = 1) {
  const network = new Network({ seed, latency: 10 });
  const rng = new Random(seed);
  const random = (n: number) => Uint8Array.from({ length: n }, () => rng.int(0, 255));
  const a = network.addHost({ name: 'probe-a', ipv4: '198.51.100.20', ipv6: '2001:db8:ff::20' });
  const b = network.addHost({ name: 'probe-b', ipv4: '198.51.100.21', ipv6: '2001:db8:ff::21' });
  const server = (family: 'ipv4' | 'ipv6') => {
    const s = new NATProbeServer({
      clock: network.clock,
      main: network.bind(a, family, 3478),
      otherPort: network.bind(a, family, 3479),
      otherHost: network.bind(b, family, 3478),
    });
    s.start();
    return s;
  };
  return { network, random, server };
}

const expected: Record<string, string> = {
  open: 'endpoint-independent',
  'full-cone': 'endpoint-independent',
  restricted: 'address-dependent',
  'port-restricted': 'address-and-port-dependent',
  symmetric: 'address-and-port-dependent',
  'double-nat': 'address-and-port-dependent',
  upnp: 'address-and-port-dependent',
  'udp-blocked': 'unknown',
  'ipv6-only': 'endpoint-independent',
};

describe('NAT probes against simulated NATs', () => {
  for (const kind of Object.keys(expected) as Array<NATKind>) {
    test(`${kind}: filtering is ${expected[kind]}`, async () => {
      const { network, random, server } = world();
      const stop = network.clock.autoRun();
      const { host } = addSite(network, kind, { index: 1 });
      const family = host.ipv4 == null ? 'ipv6' : 'ipv4';
      const s = server(family);
      const port = network.bind(host, family);
      const r = await probeFiltering({
        clock: network.clock,
        port,
        server: s.address,
        capabilities: s.capabilities(),
        random,
      });
      expect(filteringFrom(r)).toBe(expected[kind]);
      if (kind !== 'udp-blocked') expect(r.observed?.family).toBe(family);
      s.stop();
      stop();
    });
  }

  test('mapping lifetime is bracketed exactly (30 s and 120 s NATs)', async () => {
    for (const lifetime of [30_000, 120_000]) {
      const { network, random, server } = world();
      const stop = network.clock.autoRun();
      const nat = network.addNat({
        name: 'r',
        publicIpv4: '203.0.113.9',
        config: { ...natConfigs['port-restricted'], mappingLifetime: lifetime },
      });
      const host = network.addHost({ name: 'h', ipv4: '198.18.0.2', behind: nat });
      const s = server('ipv4');
      const r = await probeMappingLifetime({
        clock: network.clock,
        bindFresh: async () => network.bind(host, 'ipv4'),
        server: s.address,
        intervals: [5_000, 15_000, 25_000, 60_000, 110_000, 130_000, 300_000],
        random,
      });
      expect(r).toEqual(
        lifetime === 30_000
          ? { aliveAt: 25_000, deadAt: 60_000, recommendedKeepAliveMs: 20_000 }
          : { aliveAt: 110_000, deadAt: 130_000, recommendedKeepAliveMs: 88_000 },
      );
      s.stop();
      stop();
    }
  });

  test('no NAT: every interval answers, the recommendation is a lower bound', async () => {
    const { network, random, server } = world();
    const stop = network.clock.autoRun();
    const host = network.addHost({ name: 'pub', ipv4: '198.51.100.30' });
    const s = server('ipv4');
    const r = await probeMappingLifetime({
      clock: network.clock,
      bindFresh: async () => network.bind(host, 'ipv4'),
      server: s.address,
      intervals: [1_000, 10_000],
      random,
    });
    expect(r).toEqual({ aliveAt: 10_000, deadAt: undefined, recommendedKeepAliveMs: 8_000 });
    s.stop();
    stop();
  });

  test('a flood from one source is rate limited and delayed answers are bounded', async () => {
    const { network, server } = world();
    const s = server('ipv4');
    const attacker = network.addHost({ name: 'x', ipv4: '198.51.100.66' });
    const p = network.bind(attacker, 'ipv4');
    let answers = 0;
    p.onDatagram(() => answers++);
    const nonce = new Uint8Array(8);
    const now = encodeProbeMessage({ type: 'probe', nonce, replyFrom: ['same'], delayMs: 0 });
    const later = encodeProbeMessage({ type: 'probe', nonce, replyFrom: ['same'], delayMs: 5_000 });
    for (let i = 0; i < 200; i++) await p.send(i % 2 === 0 ? now : later, s.address);
    for (let i = 0; i < 50; i++) await p.send(new Uint8Array([i, 1, 2, 3]), s.address);
    network.clock.advance(10);
    await Promise.resolve();
    network.clock.runUntilIdle();
    // A burst of 40 admitted: 20 immediate answers, and of 20 delayed ones only 8 may wait.
    expect(s.stats.requests).toBe(200);
    expect(s.stats.rateLimited).toBe(160);
    expect(s.stats.pendingRefused).toBe(12);
    expect(s.stats.malformed).toBe(50);
    expect(answers).toBe(28);
    s.stop();
  });
});
