import type { Address } from '@node-network/network-interface';
import type { NATKind } from '@node-network/netsim';
import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import { Network, addSite } from '@node-network/netsim';
import NATBehaviourDetector from '../src/nat/NATBehaviourDetector.js';

/**
 * Runs the detector against a simulated NAT of `kind`: the node sends from
 * two local ports to three observers, each of which answers with the source
 * address it saw (what `observedAddress` does over a real connection).
 */
async function detect(kind: NATKind, seed = 1) {
  const net = new Network({ seed, latency: 5 });
  const { host } = addSite(net, kind, { name: 'me', index: 1 });
  const family = host.ipv4 == null ? 'ipv6' : 'ipv4';
  const detector = new NATBehaviourDetector();
  const observers = [0, 1, 2].map((i) => {
    const h = net.addHost({
      name: `obs${i}`,
      ipv4: `198.51.100.${10 + i}`,
      ipv6: `2001:db8:ff::${i + 1}`,
    });
    const p = net.bind(h, family, 3478);
    p.onDatagram((_d, from) => void p.send(Buffer.from(JSON.stringify(from)), from));
    return p;
  });
  for (const localPort of [40000, 40001]) {
    const me = net.bind(host, family, localPort);
    me.onDatagram((d, from) => {
      const reflexive = JSON.parse(Buffer.from(d).toString()) as Address;
      detector.observe({
        observer: `${from.host}`,
        observerAddress: from,
        local: me.localAddress,
        reflexive,
        at: net.clock.now(),
      });
    });
    for (const o of observers) await me.send(Uint8Array.of(1), o.localAddress);
    net.clock.advance(20);
    await Promise.resolve();
    net.clock.advance(20);
  }
  return detector.classification(family);
}

describe('NATBehaviourDetector against simulated NATs', () => {
  test('open: no NAT', async () => {
    expect((await detect('open')).mapping).toBe('none');
  });
  for (const kind of ['full-cone', 'restricted', 'port-restricted', 'double-nat'] as const) {
    test(`${kind}: endpoint-independent, port preserved`, async () => {
      const c = await detect(kind);
      expect(c.mapping).toBe('endpoint-independent');
      expect(c.portPreservation).toBe(true);
      expect(c.publicAddresses[0]).toMatch(/^203\.0\.113\.2:4000[01]$/);
      expect(c.observers).toBe(3);
    });
  }
  test('symmetric: endpoint-dependent with random ports', async () => {
    const c = await detect('symmetric');
    expect(c.mapping).toBe('endpoint-dependent');
    expect(c.portPreservation).toBe(false);
    expect(c.allocation).toBe('random');
  });
  test('ipv6-only: IPv6 without NAT', async () => {
    const c = await detect('ipv6-only');
    expect(c.family).toBe('ipv6');
    expect(c.mapping).toBe('none');
  });
  test('udp-blocked: no belief', async () => {
    expect((await detect('udp-blocked')).mapping).toBe('unknown');
  });
});

describe('NATBehaviourDetector stability', () => {
  const a = (host: string, port: number) => ({ host, port, family: 'ipv4' }) as Address;
  const local = a('198.18.0.2', 40000);

  test('needs several observers, and one odd answer does not flip the belief', () => {
    const d = new NATBehaviourDetector({ minObservers: 3, confirmations: 2 });
    const see = (obs: number, port: number, at: number) =>
      d.observe({
        observer: `o${obs}`,
        observerAddress: a(`198.51.100.${obs}`, 1),
        local,
        reflexive: a('203.0.113.2', port),
        at,
      });
    see(1, 40000, 1);
    see(2, 40000, 2);
    expect(d.classification('ipv4').mapping).toBe('unknown');
    see(3, 40000, 3);
    see(3, 40000, 4);
    expect(d.classification('ipv4').mapping).toBe('endpoint-independent');
    expect(d.pollEvent()?.current.mapping).toBe('endpoint-independent');
    // One observer reports another port once: a candidate, not yet a belief.
    see(2, 51234, 5);
    expect(d.classification('ipv4').mapping).toBe('endpoint-independent');
    // The observer corrects itself: the candidate is dropped.
    see(2, 40000, 6);
    see(1, 40000, 7);
    expect(d.classification('ipv4').mapping).toBe('endpoint-independent');
    expect(d.pollEvent()).toBeUndefined();
  });

  test('beliefs are kept per family and old observations age out', () => {
    const d = new NATBehaviourDetector({ minObservers: 2, confirmations: 1, window: 1000 });
    for (const i of [1, 2]) {
      d.observe({
        observer: `o${i}`,
        observerAddress: a(`198.51.100.${i}`, 1),
        local,
        reflexive: a('203.0.113.2', 40000),
        at: 0,
      });
    }
    expect(d.classification('ipv4').mapping).toBe('endpoint-independent');
    expect(d.classification('ipv6').mapping).toBe('unknown');
    // Later, only one fresh observer: not enough to change anything.
    d.observe({
      observer: 'o3',
      observerAddress: a('198.51.100.3', 1),
      local,
      reflexive: a('203.0.113.2', 999),
      at: 5000,
    });
    expect(d.classification('ipv4').publicAddresses).toEqual(['203.0.113.2:40000']);
  });
});

describe('NATBehaviourDetector properties', () => {
  const obsArb = fc.record({
    observer: fc.integer({ min: 1, max: 6 }),
    localPort: fc.constantFrom(40000, 40001),
    reflexivePort: fc.integer({ min: 1, max: 65535 }),
    reflexiveHost: fc.constantFrom('203.0.113.2', '203.0.113.3', '198.18.0.2'),
    dt: fc.integer({ min: 0, max: 120_000 }),
  });

  testProp.prop([fc.array(obsArb, { maxLength: 80 })])(
    'any sequence of answers yields a well-formed belief, and every change is an event',
    (seq) => {
      const d = new NATBehaviourDetector();
      let at = 0;
      let changes = 0;
      for (const o of seq) {
        at += o.dt;
        d.observe({
          observer: `o${o.observer}`,
          observerAddress: { host: `198.51.100.${o.observer}`, port: 1, family: 'ipv4' } as Address,
          local: { host: '198.18.0.2', port: o.localPort, family: 'ipv4' } as Address,
          reflexive: { host: o.reflexiveHost, port: o.reflexivePort, family: 'ipv4' } as Address,
          at,
        });
        while (d.pollEvent() != null) changes++;
      }
      const c = d.classification('ipv4');
      expect(['none', 'endpoint-independent', 'endpoint-dependent', 'unknown']).toContain(
        c.mapping,
      );
      expect(['preserving', 'sequential', 'random', 'unknown']).toContain(c.allocation);
      if (c.mapping === 'unknown') expect(changes).toBe(0);
      else expect(changes).toBeGreaterThan(0);
    },
  );

  testProp.prop([fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 3, max: 6 })])(
    'a settled belief survives one contrary answer',
    (oddPort, n) => {
      const d = new NATBehaviourDetector({ minObservers: 3, confirmations: 2 });
      const see = (i: number, port: number, at: number) =>
        d.observe({
          observer: `o${i}`,
          observerAddress: { host: `198.51.100.${i}`, port: 1, family: 'ipv4' } as Address,
          local: { host: '198.18.0.2', port: 40000, family: 'ipv4' } as Address,
          reflexive: { host: '203.0.113.2', port, family: 'ipv4' } as Address,
          at,
        });
      for (let i = 1; i <= n; i++) see(i, 40000, i);
      see(1, 40000, n + 1);
      const before = d.classification('ipv4');
      see(2, oddPort, n + 2);
      expect(d.classification('ipv4')).toEqual(before);
    },
  );
});
