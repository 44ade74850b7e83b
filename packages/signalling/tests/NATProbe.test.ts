import type { Address } from '@node-network/network-interface';
import type { NATKind, SimHost, VirtualDatagramPort } from '@node-network/netsim';
import type { NATProbeServerLimits } from '../src/probe/NATProbeServer.js';
import type { FilteringResult } from '../src/probe/NATProber.js';
import { describe, test, expect } from '@jest/globals';
import { fc } from '@fast-check/jest';
import { errors as baseErrors } from '@node-network/network-interface';
import { Network, addSite, natConfigs, Random } from '@node-network/netsim';
import NATProbeServer from '../src/probe/NATProbeServer.js';
import { probeFiltering, probeMappingLifetime, filteringFrom } from '../src/probe/NATProber.js';
import { encodeProbeMessage, requestSize } from '../src/probe/messages.js';
import { ErrorNATProbeParameters, ErrorNATProbeUnanswered } from '../src/probe/errors.js';

/**
 * A probe server on the simulated internet: main (3478) and other port
 * (3479) on host A, the other host's port on host B.
 */
function world({ seed = 1, trace = false }: { seed?: number; trace?: boolean } = {}) {
  const network = new Network({ seed, latency: 10, trace });
  const rng = new Random(seed);
  const random = (n: number) => Uint8Array.from({ length: n }, () => rng.int(0, 255));
  const a = network.addHost({ name: 'probe-a', ipv4: '198.51.100.20', ipv6: '2001:db8:ff::20' });
  const b = network.addHost({ name: 'probe-b', ipv4: '198.51.100.21', ipv6: '2001:db8:ff::21' });
  const server = ({
    family = 'ipv4',
    otherPort = true,
    otherHost = true,
    otherHostOn = b,
    limits,
    start = true,
  }: {
    family?: 'ipv4' | 'ipv6';
    otherPort?: boolean;
    otherHost?: boolean;
    otherHostOn?: SimHost;
    limits?: Partial<NATProbeServerLimits>;
    start?: boolean;
  } = {}) => {
    const s = new NATProbeServer({
      clock: network.clock,
      main: network.bind(a, family, 3478),
      otherPort: otherPort ? network.bind(a, family, 3479) : undefined,
      otherHost: otherHost ? network.bind(otherHostOn, family, 3480) : undefined,
      limits,
    });
    if (start) s.start();
    return s;
  };
  return { network, random, server, a, b };
}

/** Runs `f` with virtual time running by itself, then stops it. */
async function running<T>(network: Network, f: () => Promise<T>): Promise<T> {
  const stop = network.clock.autoRun();
  try {
    return await f();
  } finally {
    stop();
  }
}

const expected: Record<NATKind, string> = {
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

describe('filtering against simulated NATs', () => {
  for (const kind of Object.keys(expected) as Array<NATKind>) {
    test(`${kind}: ${expected[kind]}`, async () => {
      const { network, random, server } = world();
      const { host, nats } = addSite(network, kind, { index: 1 });
      const family = host.ipv4 == null ? 'ipv6' : 'ipv4';
      const s = server({ family });
      const port = network.bind(host, family);
      const r = await running(network, () =>
        probeFiltering({
          clock: network.clock,
          port,
          server: s.address,
          capabilities: s.capabilities(),
          random,
        }),
      );
      expect(filteringFrom(r)).toBe(expected[kind]);
      if (kind === 'udp-blocked') {
        expect(r).toEqual({ same: false, otherPort: false, otherHost: false });
        expect(network.clock.now()).toBeGreaterThanOrEqual(2_000);
      } else {
        // The reflexive address: the outermost NAT's public IP, or our own.
        expect(r.observed?.family).toBe(family);
        expect(r.observed?.host).toBe(nats[0]?.nat.publicHost ?? port.localAddress.host);
        expect(r.same).toBe(true);
      }
      if (expected[kind] === 'endpoint-independent') {
        // Every answer arrived: done after one round trip, not at the timeout.
        expect(network.clock.now()).toBeLessThan(100);
      }
      s.stop();
    });
  }

  test('a server without another IP cannot tell full-cone from restricted', async () => {
    for (const [kind, want] of [
      ['full-cone', 'unknown'],
      ['restricted', 'unknown'],
      ['port-restricted', 'address-and-port-dependent'],
    ] as const) {
      const { network, random, server } = world();
      const { host } = addSite(network, kind, { index: 1 });
      const s = server({ otherHost: false });
      expect(s.capabilities()).toEqual(['same', 'other-port']);
      const r = await running(network, () =>
        probeFiltering({
          clock: network.clock,
          port: network.bind(host, 'ipv4'),
          server: s.address,
          capabilities: s.capabilities(),
          random,
        }),
      );
      expect(r.otherHost).toBeUndefined();
      expect(filteringFrom(r)).toBe(want);
    }
  });

  test('an "other-host" answer from the server\'s own IP is not believed', async () => {
    const { network, random, server, a } = world();
    const { host } = addSite(network, 'restricted', { index: 1 });
    // Misconfigured: the "other host" port is on host A, like the main one.
    const s = server({ otherHostOn: a });
    const r = await running(network, () =>
      probeFiltering({
        clock: network.clock,
        port: network.bind(host, 'ipv4'),
        server: s.address,
        capabilities: s.capabilities(),
        random,
      }),
    );
    // Its answer passed the address-dependent filter, but proves nothing about other IPs.
    expect(r).toMatchObject({ same: true, otherPort: true, otherHost: undefined });
    expect(filteringFrom(r)).toBe('unknown');
  });

  test('filteringFrom covers every outcome', () => {
    const cases: Array<[FilteringResult, string]> = [
      [{ same: false, otherPort: true, otherHost: true }, 'unknown'],
      [{ same: true, otherPort: true, otherHost: true }, 'endpoint-independent'],
      [{ same: true, otherHost: true }, 'endpoint-independent'],
      [{ same: true, otherPort: true, otherHost: false }, 'address-dependent'],
      [{ same: true, otherPort: true }, 'unknown'],
      [{ same: true, otherPort: false, otherHost: false }, 'address-and-port-dependent'],
      [{ same: true, otherPort: false }, 'address-and-port-dependent'],
      [{ same: true, otherHost: false }, 'unknown'],
      [{ same: true }, 'unknown'],
    ];
    for (const [r, want] of cases) expect(filteringFrom(r)).toBe(want);
  });
});

describe('mapping lifetime', () => {
  /** Fresh ports on `host`, remembered so the test can check they were closed. */
  function fresh(network: Network, host: SimHost) {
    const ports: Array<VirtualDatagramPort> = [];
    const bindFresh = async () => {
      const p = network.bind(host, 'ipv4');
      ports.push(p);
      return p;
    };
    return { ports, bindFresh };
  }

  test.each(['full-cone', 'restricted', 'port-restricted', 'symmetric', 'double-nat'] as const)(
    '%s (30 s mappings): alive at 15 s, dead at 30 s',
    async (kind) => {
      const { network, random, server } = world();
      const { host } = addSite(network, kind, { index: 1 });
      const s = server();
      const { ports, bindFresh } = fresh(network, host);
      const r = await running(network, () =>
        probeMappingLifetime({ clock: network.clock, bindFresh, server: s.address, random }),
      );
      // A mapping lives while now - lastActive <= 30 s: the answer after 30 s of
      // silence arrives one round trip too late, the one after 15 s in time.
      expect(r).toEqual({ aliveAt: 15_000, deadAt: 30_000, recommendedKeepAliveMs: 12_000 });
      // Intervals 5, 15 and 30 s, each on its own fresh port, and nothing after the first dead one.
      expect(ports).toHaveLength(3);
      expect(ports.every((p) => p.closed)).toBe(true);
      expect(network.clock.now()).toBeLessThan(5_000 + 15_000 + 30_000 + 2_000 + 1_000);
      expect(s.stats.requests).toBeGreaterThanOrEqual(6);
      s.stop();
    },
  );

  /** A host behind a port-restricted NAT whose idle mappings live `lifetime` ms. */
  function behindNat(network: Network, lifetime: number): SimHost {
    const nat = network.addNat({
      name: 'r',
      publicIpv4: '203.0.113.9',
      config: { ...natConfigs['port-restricted'], mappingLifetime: lifetime },
    });
    return network.addHost({ name: 'h', ipv4: '198.18.0.2', behind: nat });
  }

  /** `host`'s mapping lifetime, measured against a fresh server of `w`. */
  function lifetimeOf(w: ReturnType<typeof world>, host: SimHost, intervals?: Array<number>) {
    const s = w.server();
    return running(w.network, () =>
      probeMappingLifetime({
        clock: w.network.clock,
        bindFresh: async () => w.network.bind(host, 'ipv4'),
        server: s.address,
        intervals,
        random: w.random,
      }),
    );
  }

  test('a NAT with 120 s mappings: alive at 60 s, dead at 120 s', async () => {
    const w = world();
    const r = await lifetimeOf(w, behindNat(w.network, 120_000));
    expect(r).toEqual({ aliveAt: 60_000, deadAt: 120_000, recommendedKeepAliveMs: 48_000 });
  });

  test('custom intervals bracket a 30 s lifetime just below it', async () => {
    const w = world();
    const { host } = addSite(w.network, 'port-restricted', { index: 1 });
    // Unsorted and repeated on purpose; 29.9 s of silence plus one 10 ms leg still fits.
    const r = await lifetimeOf(w, host, [40_000, 29_900, 20_000, 29_900]);
    expect(r).toEqual({ aliveAt: 29_900, deadAt: 40_000, recommendedKeepAliveMs: 23_920 });
  });

  test('no NAT: every interval answers, the recommendation is 0.8 x the longest', async () => {
    const w = world();
    const host = w.network.addHost({ name: 'pub', ipv4: '198.51.100.30' });
    const r = await lifetimeOf(w, host, [1_000, 10_000]);
    expect(r).toEqual({ aliveAt: 10_000, deadAt: undefined, recommendedKeepAliveMs: 8_000 });
  });

  test('even the shortest interval dead: half of it is recommended', async () => {
    const w = world();
    const r = await lifetimeOf(w, behindNat(w.network, 3_000));
    expect(r).toEqual({ aliveAt: 0, deadAt: 5_000, recommendedKeepAliveMs: 2_500 });
  });

  test('no path to the server: ErrorNATProbeUnanswered, ports closed', async () => {
    for (const blocked of [true, false]) {
      const { network, random, server } = world();
      const { host } = addSite(network, blocked ? 'udp-blocked' : 'port-restricted', { index: 1 });
      const s = server({ start: blocked });
      const { ports, bindFresh } = fresh(network, host);
      await expect(
        running(network, () =>
          probeMappingLifetime({ clock: network.clock, bindFresh, server: s.address, random }),
        ),
      ).rejects.toThrow(ErrorNATProbeUnanswered);
      expect(ports).toHaveLength(1);
      expect(ports[0].closed).toBe(true);
    }
  });

  test('cancellable through its signal; waits only on the injected clock', async () => {
    const { network, random, server } = world();
    const { host } = addSite(network, 'port-restricted', { index: 1 });
    const s = server();
    const { ports, bindFresh } = fresh(network, host);
    const ac = new AbortController();
    network.clock.setTimer(10_000, () => ac.abort());
    await expect(
      running(network, () =>
        probeMappingLifetime({
          clock: network.clock,
          bindFresh,
          server: s.address,
          random,
          signal: ac.signal,
        }),
      ),
    ).rejects.toThrow(baseErrors.ErrorCancelled);
    // Cancelled during the 15 s interval, right when the signal fired.
    expect(network.clock.now()).toBe(10_000);
    expect(ports).toHaveLength(2);
    expect(ports.every((p) => p.closed)).toBe(true);
    // Already aborted: nothing is bound.
    await expect(
      probeMappingLifetime({
        clock: network.clock,
        bindFresh,
        server: s.address,
        signal: ac.signal,
      }),
    ).rejects.toThrow(baseErrors.ErrorCancelled);
    expect(ports).toHaveLength(2);
  });

  test('refuses unusable intervals', async () => {
    const { network, server } = world();
    const s = server();
    const bindFresh = async () => network.bind(network.host('probe-b'), 'ipv4');
    for (const intervals of [[], [0], [1.5], [600_001]]) {
      await expect(
        probeMappingLifetime({ clock: network.clock, bindFresh, server: s.address, intervals }),
      ).rejects.toThrow(ErrorNATProbeParameters);
    }
  });
});

describe('server limits', () => {
  test('a flood from one source is rate limited and delayed answers are bounded', async () => {
    const { network, server } = world();
    const s = server();
    const attacker = network.addHost({ name: 'x', ipv4: '198.51.100.66' });
    const p = network.bind(attacker, 'ipv4');
    let answers = 0;
    p.onDatagram(() => answers++);
    const nonce = new Uint8Array(8);
    const now = encodeProbeMessage({ type: 'probe', nonce, replyFrom: ['same'], delayMs: 0 });
    const later = encodeProbeMessage({ type: 'probe', nonce, replyFrom: ['same'], delayMs: 5_000 });
    for (let i = 0; i < 200; i++) await p.send(i % 2 === 0 ? now : later, s.address);
    network.clock.advance(10);
    // A burst of 40 admitted: 20 immediate answers, and of 20 delayed ones only 8 may wait.
    expect(s.pendingAnswers).toBe(8);
    expect(s.stats).toMatchObject({ requests: 200, rateLimited: 160, pendingRefused: 12 });
    // The bucket refills at 20 per second: a second later, 20 of 30 more get through.
    network.clock.advance(1_000);
    for (let i = 0; i < 30; i++) await p.send(now, s.address);
    network.clock.runUntilIdle();
    expect(s.stats).toEqual({
      requests: 230,
      answers: 20 + 8 + 20,
      malformed: 0,
      rateLimited: 170,
      pendingRefused: 12,
      sendErrors: 0,
    });
    expect(answers).toBe(48);
    // Another source has its own bucket.
    const other = network.bind(network.addHost({ name: 'y', ipv4: '198.51.100.67' }), 'ipv4');
    let otherAnswers = 0;
    other.onDatagram(() => otherAnswers++);
    for (let i = 0; i < 5; i++) await other.send(now, s.address);
    network.clock.runUntilIdle();
    expect(otherAnswers).toBe(5);
  });

  test('delayed answers are bounded in total', async () => {
    const { network, server } = world();
    const s = server({ limits: { maxPending: 5 } });
    const later = encodeProbeMessage({
      type: 'probe',
      nonce: new Uint8Array(8),
      replyFrom: ['same'],
      delayMs: 1_000,
    });
    for (let h = 0; h < 4; h++) {
      const p = network.bind(
        network.addHost({ name: `c${h}`, ipv4: `198.51.100.${70 + h}` }),
        'ipv4',
      );
      for (let i = 0; i < 3; i++) await p.send(later, s.address);
    }
    network.clock.advance(10);
    expect(s.pendingAnswers).toBe(5);
    expect(s.stats.pendingRefused).toBe(7);
    // stop() drops what is waiting.
    s.stop();
    expect(s.pendingAnswers).toBe(0);
    network.clock.runUntilIdle();
    expect(s.stats.answers).toBe(0);
  });

  test('never sends more than 3x the bytes of a request', async () => {
    const { network, server } = world({ trace: true });
    const s = server({ family: 'ipv6' });
    const client = network.addHost({ name: 'c', ipv6: '2001:db8:77::1' });
    const p = network.bind(client, 'ipv6');
    const all = encodeProbeMessage({
      type: 'probe',
      nonce: new Uint8Array(8),
      replyFrom: ['same', 'other-port', 'other-host'],
      delayMs: 0,
    });
    for (let i = 0; i < 10; i++) await p.send(all, s.address);
    network.clock.runUntilIdle();
    const bytes = (to: string) =>
      network
        .trace!.filter((e) => e.outcome === 'delivered' && e.to === to)
        .reduce((n, e) => n + e.bytes, 0);
    const sent = bytes(`[2001:db8:ff::20]:3478`);
    const received = bytes(`[${p.localAddress.host}]:${p.localAddress.port}`);
    expect(sent).toBe(10 * requestSize);
    expect(s.stats.answers).toBe(30);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(3 * sent);
  });

  test('malformed datagrams are counted and dropped; the handler never throws', () => {
    const { network, server } = world();
    const s = server();
    const p = network.bind(network.addHost({ name: 'x', ipv4: '198.51.100.66' }), 'ipv4');
    let received = 0;
    p.onDatagram(() => received++);
    const answer = encodeProbeMessage({
      type: 'answer',
      nonce: new Uint8Array(8),
      from: 'same',
      observed: { host: '192.0.2.1', port: 1, family: 'ipv4' } as Address,
    });
    let sent = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.uint8Array({ maxLength: 40 }).map((t) => Uint8Array.from([0x4e, 0x50, 2, 1, ...t])),
          fc.constant(answer),
        ),
        (bytes) => {
          void p.send(bytes, s.address);
          sent++;
          expect(() => network.clock.advance(20)).not.toThrow();
        },
      ),
    );
    expect(s.stats.malformed + s.stats.requests).toBe(sent);
    expect(s.stats.malformed).toBeGreaterThan(0);
    expect(received).toBe(s.stats.answers);
  });
});
