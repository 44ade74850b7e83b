import type { NATKind } from '@node-network/netsim';
import crypto from 'node:crypto';
import { describe, test, expect } from '@jest/globals';
import * as identity from '@node-network/network-identity';
import { natConfigs } from '@node-network/netsim';
import { signal } from '@node-network/signalling';
import { world } from './simWorld.js';

/** Key pairs for `n` nodes such that each is strictly closer (XOR) to the last than the one before. */
function chainTowardLast(n: number): Array<identity.KeyPair> {
  const target = identity.generateKeyPair();
  const big = (id: Uint8Array) => BigInt(`0x${Buffer.from(id).toString('hex')}`);
  const d = (k: identity.KeyPair) => big(k.publicKey) ^ big(target.publicKey);
  const pool = Array.from({ length: 64 }, () => identity.generateKeyPair()).sort((a, b) =>
    d(a) > d(b) ? -1 : d(a) < d(b) ? 1 : 0,
  );
  const step = Math.floor(pool.length / (n - 1));
  return [...Array.from({ length: n - 1 }, (_, i) => pool[i * step]), target];
}

describe('signalling and hole punching on netsim', () => {
  test.each([
    ['port-restricted', 'port-restricted'],
    ['restricted', 'port-restricted'],
    ['full-cone', 'double-nat'],
    ['double-nat', 'port-restricted'],
    ['symmetric', 'restricted'],
    ['full-cone', 'symmetric'],
    // Birthday punching: one NAT endpoint-dependent with random ports, the other port-restricted.
    ['symmetric', 'port-restricted'],
    ['port-restricted', 'symmetric'],
    ['double-nat', 'symmetric'],
  ] as Array<[NATKind, NATKind]>)(
    '%s to %s: signalled through a public node, then punched',
    async (ka, kb) => {
      const w = world(7);
      // Three public helpers: NAT detection forms a belief from three observers.
      const hs = [];
      for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        hs.push(await w.add({ ip }));
      }
      const hAddr = hs.map((h, i) => `${h.nn.nodeIdEncoded}@198.51.100.${i + 1}:1314`);
      const a = await w.add({ kind: ka }, undefined, { seedNodes: hAddr });
      const b = await w.add({ kind: kb }, undefined, { seedNodes: hAddr });
      for (const x of [a, b]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
      // a knows nothing of b but its NodeId; the helper knows where b is and is connected to it.
      const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
      expect(r.path).toBe('punched');
      expect(await a.nn.ping(b.nn.nodeId)).toBeGreaterThan(0);
      const bAudit = b.nn.status().audit;
      expect(
        bAudit.some(
          (x) =>
            x.kind === 'signal' &&
            x.outcome === 'ok' &&
            x.detail!.startsWith(`signalled by ${a.nn.nodeIdEncoded} through 1 hops`),
        ),
      ).toBe(true);
      const punch = a.nn.status().audit.find((x) => x.kind === 'punch' && x.outcome === 'ok');
      expect(punch?.path).toBe('punched');
      if (
        [ka, kb].includes('symmetric') &&
        [ka, kb].some((k) => /port-restricted|double-nat/.test(k))
      ) {
        // Birthday punching: the symmetric side dialled from one of its extra sockets.
        const sym = ka === 'symmetric' ? a : b;
        const other = sym === a ? b : a;
        const symPunch = sym.nn
          .status()
          .audit.find((x) => x.kind === 'punch' && x.outcome === 'ok');
        expect(symPunch?.detail).toMatch(
          /^our dial from an extra socket got through; our NAT is endpoint-dependent \(random ports\): 256 extra sockets/,
        );
        expect(symPunch?.detail).toMatch(/256 extra sockets opened, [1-9]\d* heard the peer/);
        const otherPunch = other.nn
          .status()
          .audit.find((x) => x.kind === 'punch' && x.outcome === 'ok');
        expect(otherPunch?.detail).toMatch(
          /their NAT is endpoint-dependent: probing 2048 of its ports \(random\); .* [1-9]\d* ports probed/,
        );
      }
      // Reusing the connection says how it was made.
      expect((await a.nn.connect(b.nn.nodeIdEncoded)).path).toBe('punched');
    },
    60_000,
  );

  test('multi-hop: the signal travels greedily toward the target through nodes connected toward it', async () => {
    const w = world(8);
    const [ka, k1, k2, k3, kb] = chainTowardLast(5);
    // a -> h1 -> h2 -> h3 -> b, each hop connected only to its neighbours, each closer to b.
    const h1 = await w.add({ ip: '198.51.100.1' }, k1);
    const h2 = await w.add({ ip: '198.51.100.2' }, k2);
    const h3 = await w.add({ ip: '198.51.100.3' }, k3);
    const a = await w.add({ kind: 'port-restricted' }, ka);
    const b = await w.add({ kind: 'port-restricted' }, kb);
    await a.nn.connect(h1.nn.nodeId, ['198.51.100.1:1314']);
    await h1.nn.connect(h2.nn.nodeId, ['198.51.100.2:1314']);
    await h2.nn.connect(h3.nn.nodeId, ['198.51.100.3:1314']);
    await b.nn.connect(h3.nn.nodeId, ['198.51.100.3:1314']);
    for (const x of [a, b]) await x.nn.observeNat([x === a ? h1.nn.nodeId : h3.nn.nodeId]);
    const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 20_000 });
    expect(r.path).toBe('punched');
    const signalled = b.nn
      .status()
      .audit.find((x) => x.kind === 'signal' && x.outcome === 'ok')!.detail!;
    expect(signalled).toContain('through 3 hops');
    expect(signalled).toContain([h1, h2, h3].map((h) => h.nn.nodeIdEncoded).join(' > '));
    for (const h of [h1, h2]) {
      expect(
        h.nn.status().audit.some((x) => x.kind === 'signal' && /^forwarded/.test(x.detail!)),
      ).toBe(true);
    }
  }, 60_000);

  test('hostile signals are refused with typed errors at the first hop', async () => {
    const w = world(9);
    const h = await w.add({ ip: '198.51.100.1' });
    const a = await w.add({ ip: '198.51.100.2' });
    const b = await w.add({ ip: '198.51.100.3' });
    await a.nn.connect(h.nn.nodeId, ['198.51.100.1:1314']);
    await b.nn.connect(h.nn.nodeId, ['198.51.100.1:1314']);
    const rpc = a.nn.connectionManager.getConnection(h.nn.nodeId)!.rpc;
    const now = Math.floor(w.network.clock.wallTime());
    const base = {
      keyPair: a.keyPair,
      network: 'mainnet',
      target: b.nn.nodeId,
      candidates: [],
      nat: {},
      time: now,
    };
    const send = (wire: unknown) => rpc.unary<any, any>('signal', wire as any, { timer: 5_000 });
    const refusedWith = async (wire: unknown, name: string) => {
      const e = await send(wire).then(
        () => undefined,
        (e) => e as Error,
      );
      expect(e).toBeDefined();
      expect(`${e!.name} ${e!.message} ${String((e as any).cause?.name)}`).toContain(name);
    };
    const nonce = () => new Uint8Array(crypto.randomBytes(16));
    // Signed by someone else.
    const forged = signal.encodeSignalRequest({
      ...signal.createSignalRequest({ ...base, nonce: nonce() }),
      signature: new Uint8Array(64),
    } as signal.SignalRequest);
    await refusedWith(forged, 'ErrorSignalSignature');
    // Another network.
    await refusedWith(
      signal.encodeSignalRequest(
        signal.createSignalRequest({ ...base, network: 'testnet', nonce: nonce() }),
      ),
      'ErrorSignalNetwork',
    );
    // Stale.
    await refusedWith(
      signal.encodeSignalRequest(
        signal.createSignalRequest({ ...base, time: now - 3_600_000, nonce: nonce() }),
      ),
      'ErrorSignalStale',
    );
    // Too many candidates; garbage.
    const big = signal.encodeSignalRequest(signal.createSignalRequest({ ...base, nonce: nonce() }));
    await refusedWith(
      {
        ...big,
        candidates: Array.from({ length: 50 }, () => ({
          host: '1.2.3.4',
          port: 1,
          family: 'ipv4',
          kind: 'local',
        })),
      },
      'ErrorSignal',
    );
    await refusedWith({ nonsense: true }, 'ErrorSignalMalformed');
    // Claims to come from b (the first hop must be the source itself).
    await refusedWith(
      signal.encodeSignalRequest(
        signal.createSignalRequest({
          ...base,
          keyPair: b.keyPair,
          target: a.nn.nodeId,
          nonce: nonce(),
        }),
      ),
      'ErrorSignalMismatch',
    );
    // A good one goes through once; its replay is refused.
    const good = signal.encodeSignalRequest(
      signal.createSignalRequest({ ...base, nonce: nonce() }),
    );
    const answer = signal.decodeSignalAnswer(await send(good));
    expect(identity.nodeIdEquals(answer.source, b.nn.nodeId)).toBe(true);
    await refusedWith(good, 'ErrorSignalReplay');
    // The helper is fine afterwards.
    expect(await a.nn.ping(h.nn.nodeId)).toBeGreaterThan(0);
  }, 60_000);

  test('a flooding source is throttled; the target stays reachable for others', async () => {
    const w = world(10);
    const h = await w.add({ ip: '198.51.100.1' });
    const a = await w.add({ ip: '198.51.100.2' });
    const b = await w.add({ kind: 'port-restricted' });
    const c = await w.add({ kind: 'port-restricted' });
    for (const x of [a, b, c]) await x.nn.connect(h.nn.nodeId, ['198.51.100.1:1314']);
    const rpc = a.nn.connectionManager.getConnection(h.nn.nodeId)!.rpc;
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, () =>
        rpc.unary<any, any>(
          'signal',
          signal.encodeSignalRequest(
            signal.createSignalRequest({
              keyPair: a.keyPair,
              network: 'mainnet',
              target: b.nn.nodeId,
              candidates: [],
              nat: {},
              time: Math.floor(w.network.clock.wallTime()),
              nonce: new Uint8Array(crypto.randomBytes(16)),
            }),
          ) as any,
          { timer: 10_000 },
        ),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.filter(
      (r) =>
        r.status === 'rejected' &&
        /ErrorSignalRateLimited|rate limit/.test(
          `${(r.reason as Error).name} ${(r.reason as Error).message}`,
        ),
    ).length;
    // The source's burst (10) passes, the rest are refused as rate limited.
    expect(ok).toBeLessThanOrEqual(12);
    expect(limited).toBeGreaterThanOrEqual(48);
    expect(
      h.nn
        .status()
        .audit.some(
          (x) => x.kind === 'signal' && /ErrorSignalRateLimited/.test(x.error?.name ?? ''),
        ),
    ).toBe(true);
    // c, another source, still gets through to b.
    await c.nn.observeNat([h.nn.nodeId]);
    const r = await c.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
    expect(r.nodeId).toBe(b.nn.nodeIdEncoded);
  }, 60_000);

  test('a punched connection is kept alive at the interval our measured mapping lifetime asks for', async () => {
    // NATs whose idle mappings live 4 s: shorter than the transport's 10 s keepalive.
    const w = world(11);
    const network = w.network;
    network.addHost({ name: 'h-alt', ipv4: '198.51.100.21' });
    const h = (
      await w.add({ ip: '198.51.100.1' }, undefined, {
        natProbeServers: [
          { host: '198.51.100.1', port: 3478, otherPort: 3479, otherHost: '198.51.100.21' },
        ],
      })
    ).nn;
    const site = (i: number) => {
      const box = network.addNat({
        name: `r${i}`,
        publicIpv4: `203.0.113.${i}`,
        config: { ...natConfigs['port-restricted'], mappingLifetime: 4_000 },
      });
      return network.addHost({ name: `n${i}`, ipv4: '198.18.0.2', behind: box });
    };
    const seeds = [`${h.nodeIdEncoded}@198.51.100.1:1314`];
    const a = (await w.add({ host: site(1) }, undefined, { seedNodes: seeds })).nn;
    const b = (await w.add({ host: site(2) }, undefined, { seedNodes: seeds })).nn;
    await a.connect(h.nodeId);
    await b.connect(h.nodeId);
    const life = await a.measureMappingLifetime(h.nodeId, {
      intervals: [1_000, 2_000, 3_000, 6_000],
    });
    expect(life.aliveAt).toBe(3_000);
    expect(life.deadAt).toBe(6_000);
    expect(a.status().nat.ipv4.mappingLifetime?.recommendedKeepAliveMs).toBe(
      life.recommendedKeepAliveMs,
    );
    // b's NAT forgets idle mappings after 4 s and b (which measured nothing) keeps its connection
    // to h alive only every 10 s: b speaks to h now, so that h can pass a's signal on to it.
    await b.ping(h.nodeId);
    const r = await a.connect(b.nodeIdEncoded, undefined, { timer: 15_000 });
    expect(r.path).toBe('punched');
    const punch = a.status().audit.find((x) => x.kind === 'punch' && x.outcome === 'ok');
    expect(punch?.detail).toContain(
      `keepalive every ${life.recommendedKeepAliveMs} ms (our NAT's mappings live 3000 ms idle)`,
    );
    // A minute of silence from the application: the same connection still carries RPC.
    await new Promise<void>((resolve) => network.clock.setTimer(60_000, resolve));
    const again = await a.connect(b.nodeIdEncoded);
    expect(again.connectionId).toBe(r.connectionId);
    expect(await a.ping(b.nodeId, { timer: 2_000 })).toBeGreaterThan(0);
  }, 60_000);

  test('a symmetric NAT that allocates ports in sequence: a few sockets and a predicted window', async () => {
    const w = world(12);
    const hs = [];
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) hs.push(await w.add({ ip }));
    const seeds = hs.map((h, i) => `${h.nn.nodeIdEncoded}@198.51.100.${i + 1}:1314`);
    const box = w.network.addNat({
      name: 'seq-router',
      publicIpv4: '203.0.113.50',
      config: { ...natConfigs.symmetric, allocation: 'sequential' },
    });
    const seqHost = w.network.addHost({ name: 'seq', ipv4: '198.18.0.2', behind: box });
    const a = await w.add({ host: seqHost }, undefined, { seedNodes: seeds });
    const b = await w.add({ kind: 'port-restricted' }, undefined, { seedNodes: seeds });
    for (const x of [a, b]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
    expect(a.nn.status().nat.ipv4).toMatchObject({
      mapping: 'endpoint-dependent',
      allocation: 'sequential',
    });
    const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 20_000 });
    expect(r.path).toBe('punched');
    const ours = a.nn.status().audit.find((x) => x.kind === 'punch' && x.outcome === 'ok');
    expect(ours?.detail).toMatch(
      /^our dial from an extra socket got through; our NAT is endpoint-dependent \(sequential ports\): 16 extra sockets/,
    );
    const theirs = b.nn.status().audit.find((x) => x.kind === 'punch' && x.outcome === 'ok');
    expect(theirs?.detail).toMatch(/probing 512 of its ports \(sequential\)/);
  }, 60_000);
});
