import type { AuditRecord } from '@node-network/transport';
import type { NATKind } from '@node-network/netsim';
import { describe, test, expect } from '@jest/globals';
import type { NodeId } from '@node-network/network-interface';
import type NodeNetwork from '../src/NodeNetwork.js';
import * as identity from '@node-network/network-identity';
import { distance } from '../src/NodeSignalling.js';
import { world } from './simWorld.js';

/** Three public helpers (seeds and NAT observers) and two nodes that know only them. */
async function pair(
  seed: number,
  ka: NATKind | 'public',
  kb: NATKind | 'public',
  options: Partial<Parameters<typeof NodeNetwork.createNodeNetwork>[0]> = {},
) {
  const w = world(seed);
  const hs = [];
  for (const i of [1, 2, 3]) {
    // NAT probe servers (answering from another port and host too): nodes learn their filtering.
    const ip = `198.51.100.${i}`;
    const otherHost = `198.51.100.2${i}`;
    w.network.addHost({ name: `alt${i}`, ipv4: otherHost });
    const natProbeServers = [{ host: ip, port: 3478, otherPort: 3479, otherHost }];
    hs.push(await w.add({ ip }, undefined, { natProbeServers }));
  }
  const seeds = hs.map((h, i) => `${h.nn.nodeIdEncoded}@198.51.100.${i + 1}:1314`);
  const at = (k: NATKind | 'public', ip: string) => (k === 'public' ? { ip } : { kind: k });
  const a = await w.add(at(ka, '198.51.100.20'), undefined, { seedNodes: seeds, ...options });
  const b = await w.add(at(kb, '198.51.100.30'), undefined, { seedNodes: seeds });
  for (const x of [a, b]) await x.nn.observeNat(hs.map((h) => h.nn.nodeId));
  return { w, a, b };
}

/** The records a node made about `peer` since `since` (clock ms), with their time from `since`. */
function recordsAbout(records: ReadonlyArray<AuditRecord>, peer: string, since: number) {
  return records
    .filter((r) => r.nodeId === peer && r.time >= since)
    .map((r) => ({ ...r, at: r.time - since }));
}

describe('connect: signalling does not wait for a direct dial that cannot work', () => {
  test.each([
    ['port-restricted', 'port-restricted'],
    ['restricted', 'port-restricted'],
    ['full-cone', 'restricted'],
  ] as Array<[NATKind, NATKind]>)(
    '%s to %s: the signal goes out after the direct dial head start, and the punch connects within 1 s',
    async (ka, kb) => {
      const { w, a, b } = await pair(21, ka, kb);
      const t0 = w.network.clock.wallTime();
      const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
      expect(r.path).toBe('punched');
      // Before: the direct dial to b's NAT ran out its 3 s before the signal went out (3.1 s).
      expect(r.durationMs).toBeLessThan(1_000);
      const ours = recordsAbout(a.nn.status().audit, b.nn.nodeIdEncoded, t0);
      const answer = ours.find((x) => x.kind === 'signal' && x.outcome === 'ok')!;
      expect(answer.detail).toMatch(
        /; signalled: the direct dial had not connected after 250 ms \(it goes on: the answer cancels it if their NAT filters\)$/,
      );
      // The signal went out at the end of the head start (its record is written on the answer).
      expect(answer.at - answer.durationMs!).toBeGreaterThanOrEqual(250);
      expect(answer.at - answer.durationMs!).toBeLessThan(300);
      // The direct dial was cancelled by the answer (not timed out), and said so in the trail.
      const dial = ours.find((x) => x.kind === 'dial-result')!;
      expect(dial.outcome).toBe('cancelled');
      expect(dial.at).toBeLessThanOrEqual(answer.at);
      expect(ours.find((x) => x.kind === 'punch')?.outcome).toBe('ok');
      // b heard the signal well before the old direct timeout.
      const theirs = recordsAbout(b.nn.status().audit, a.nn.nodeIdEncoded, t0);
      expect(theirs.find((x) => x.kind === 'signal' && x.outcome === 'ok')!.at).toBeLessThan(500);
      expect(await a.nn.ping(b.nn.nodeId)).toBeGreaterThan(0);
    },
    60_000,
  );

  test('a target that takes a direct dial is dialled, not signalled', async () => {
    for (const [ka, kb] of [
      ['port-restricted', 'public'],
      ['symmetric', 'full-cone'],
    ] as Array<[NATKind, NATKind | 'public']>) {
      const { w, a, b } = await pair(22, ka, kb);
      const t0 = w.network.clock.wallTime();
      const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
      expect(r.path).toBe('direct');
      expect(r.durationMs).toBeLessThan(250);
      const kinds = (records: ReadonlyArray<AuditRecord>, peer: string) =>
        recordsAbout(records, peer, t0).map((x) => x.kind);
      expect(kinds(a.nn.status().audit, b.nn.nodeIdEncoded)).not.toContain('signal');
      expect(kinds(b.nn.status().audit, a.nn.nodeIdEncoded)).not.toContain('signal');
    }
  }, 60_000);

  test('a slow dial to a target whose NAT lets it in is the path: the answer does not cancel it', async () => {
    const { w, a, b } = await pair(25, 'port-restricted', 'public');
    // a's first hellos to b are lost (b is slow to reach), the signal through a helper is not.
    w.network.partition([a.host], [b.host]);
    w.network.clock.setTimer(400, () => w.network.heal());
    const t0 = w.network.clock.wallTime();
    const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
    expect(r.path).toBe('direct');
    const ours = recordsAbout(a.nn.status().audit, b.nn.nodeIdEncoded, t0);
    // The answer (their NAT: none) came while the dial was still trying; we waited for the dial.
    const answer = ours.find((x) => x.kind === 'signal' && x.outcome === 'ok')!;
    const dial = ours.find((x) => x.kind === 'dial-result')!;
    expect(dial.outcome).toBe('ok');
    expect(answer.at).toBeLessThan(dial.at);
    expect(ours.filter((x) => x.kind === 'punch')).toEqual([]);
    expect(r.durationMs).toBeGreaterThan(400);
    expect(r.durationMs).toBeLessThan(1_500);
  }, 60_000);

  test('a dial to an address that is not theirs any more is cancelled by the answer, even with no NAT', async () => {
    const { w, a, b } = await pair(26, 'port-restricted', 'public');
    const t0 = w.network.clock.wallTime();
    // A stale address (nothing listens there): the answer names their real one.
    const r = await a.nn.connect(b.nn.nodeIdEncoded, ['198.51.100.30:9999'], { timer: 15_000 });
    expect(r.path).toBe('punched');
    expect(r.address).toBe('198.51.100.30:1314');
    expect(r.durationMs).toBeLessThan(1_000);
    const ours = recordsAbout(a.nn.status().audit, b.nn.nodeIdEncoded, t0);
    expect(ours.find((x) => x.kind === 'dial-result')).toMatchObject({
      outcome: 'cancelled',
      detail: expect.stringContaining('198.51.100.30:9999'),
    });
  }, 60_000);

  test('symmetric to symmetric: the relay starts beside the unlikely punch, not after it', async () => {
    const { w, a, b } = await pair(27, 'symmetric', 'symmetric');
    const t0 = w.network.clock.wallTime();
    const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
    expect(r.path).toBe('relayed');
    // Before: the 3 s direct timeout, then the 2 s punch, then the relay (5.3 s).
    expect(r.durationMs).toBeLessThan(1_000);
    const ours = recordsAbout(a.nn.status().audit, b.nn.nodeIdEncoded, t0);
    const answer = ours.find((x) => x.kind === 'signal' && x.outcome === 'ok')!;
    expect(answer.detail).toContain('(both NATs endpoint-dependent)');
    expect(ours.find((x) => x.kind === 'relay' && x.outcome === 'ok')!.at).toBeLessThan(
      answer.at + 200,
    );
    // The punch went on beside it, to its 2 s deadline, and says how it ended.
    await new Promise<void>((resolve) => w.network.clock.setTimer(3_000, resolve));
    const punch = recordsAbout(a.nn.status().audit, b.nn.nodeIdEncoded, t0).find(
      (x) => x.kind === 'punch',
    );
    expect(punch).toMatchObject({ outcome: 'failed', durationMs: 2_000 });
    expect((await a.nn.connect(b.nn.nodeIdEncoded)).path).toBe('relayed');
  }, 60_000);

  test('the lookup does not wait for a slow peer, and the signal goes through the peer that knew the target', async () => {
    const w = world(28);
    const h1 = await w.add({ ip: '198.51.100.1' });
    const h2 = await w.add({ ip: '198.51.100.2' });
    const h3 = await w.add({ ip: '198.51.100.3' });
    // b's NodeId is closest (XOR) to h1, which knows nothing of b: only h3 holds a connection to it.
    let bKey = identity.generateKeyPair();
    while (
      distance(h1.nn.nodeId, bKey.publicKey as NodeId) >
      distance(h3.nn.nodeId, bKey.publicKey as NodeId)
    ) {
      bKey = identity.generateKeyPair();
    }
    const a = await w.add({ kind: 'port-restricted' });
    const b = await w.add({ kind: 'port-restricted' }, bKey);
    for (const h of [h1, h2, h3]) await a.nn.connect(h.nn.nodeId, [h.nn.addresses[0]]);
    await b.nn.connect(h3.nn.nodeId, [h3.nn.addresses[0]]);
    // h2 answers lookups half a second late.
    w.network.setHostLatency(h2.host, 250);
    const t0 = w.network.clock.wallTime();
    const r = await a.nn.connect(b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
    expect(r.path).toBe('punched');
    expect(r.durationMs).toBeLessThan(1_000);
    const ours = recordsAbout(a.nn.status().audit, b.nn.nodeIdEncoded, t0);
    expect(ours.find((x) => x.kind === 'lookup')?.detail).toMatch(
      /^asked 3 peers \(0 failed; went on 50 ms after the first answer with addresses \(\d+ ms\), cancelling 1 still pending\), got 1 addresses/,
    );
    const signals = ours.filter((x) => x.kind === 'signal');
    expect(signals.map((x) => x.outcome)).toEqual(['ok']);
    expect(signals[0].detail).toMatch(new RegExp(`^answered via ${h3.nn.nodeIdEncoded};`));
  }, 60_000);

  test('directHeadStartTime 0: the signal goes out with the dial; a dial that works still wins', async () => {
    const punched = await pair(23, 'port-restricted', 'port-restricted', {
      directHeadStartTime: 0,
    });
    let t0 = punched.w.network.clock.wallTime();
    const r = await punched.a.nn.connect(punched.b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
    expect(r.path).toBe('punched');
    const answer = recordsAbout(punched.a.nn.status().audit, punched.b.nn.nodeIdEncoded, t0).find(
      (x) => x.kind === 'signal' && x.outcome === 'ok',
    )!;
    expect(answer.at - answer.durationMs!).toBeLessThan(50);
    expect(r.durationMs).toBeLessThan(300);
    const direct = await pair(24, 'port-restricted', 'public', { directHeadStartTime: 0 });
    t0 = direct.w.network.clock.wallTime();
    const d = await direct.a.nn.connect(direct.b.nn.nodeIdEncoded, undefined, { timer: 15_000 });
    expect(d.path).toBe('direct');
    // The signal went out beside the dial; the dial connected first, so no punch ran on our side.
    // The connected dial cancels the signal (an aborted call ends its stream); a signal that still
    // reaches b finds a's connection there, and b says its punch was not needed. Either way b
    // never punches.
    const ours = recordsAbout(direct.a.nn.status().audit, direct.b.nn.nodeIdEncoded, t0);
    const signals = ours.filter((x) => x.kind === 'signal');
    expect(signals).toHaveLength(1);
    expect(['ok', 'cancelled']).toContain(signals[0].outcome);
    expect(ours.filter((x) => x.kind === 'punch')).toEqual([]);
    const theirs = recordsAbout(direct.b.nn.status().audit, direct.a.nn.nodeIdEncoded, t0);
    for (const p of theirs.filter((x) => x.kind === 'punch')) {
      expect(p).toMatchObject({
        outcome: 'cancelled',
        detail: expect.stringMatching(/^not needed: connection \S+ \(their dial\) was already up$/),
      });
    }
    const onB = direct.b.nn
      .status()
      .connections.find((c) => c.nodeId === direct.a.nn.nodeIdEncoded);
    expect(onB?.path).toBe('direct');
  }, 60_000);
});
