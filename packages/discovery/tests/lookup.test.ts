import type { NodeId } from '@node-network/network-interface';
import type { LookupContact } from '../src/lookup.js';
import { describe, test, expect } from '@jest/globals';
import { iterativeLookup } from '../src/lookup.js';

/** A seeded byte source (xorshift), so the simulated network is the same every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const big = (id: Uint8Array) => BigInt(`0x${Buffer.from(id).toString('hex')}`);

/**
 * N nodes with Kademlia tables: each node keeps at most k contacts per
 * bucket (chosen at random among the nodes of that bucket).
 */
function network(n: number, k: number, seed: number) {
  const r = rng(seed);
  const ids = Array.from(
    { length: n },
    () => Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256)) as NodeId,
  );
  const bigs = ids.map(big);
  const tables = bigs.map((me) => {
    const buckets = new Map<number, Array<number>>();
    const order = [...bigs.keys()].sort(() => r() - 0.5);
    for (const j of order) {
      if (bigs[j] === me) continue;
      const b = (me ^ bigs[j]).toString(2).length;
      const list = buckets.get(b) ?? [];
      if (list.length < k) list.push(j);
      buckets.set(b, list);
    }
    return [...buckets.values()].flat();
  });
  const contact = (j: number): LookupContact => ({
    nodeId: ids[j],
    addresses: [`10.0.${j >> 8}.${j & 255}:1314`],
  });
  const closestKnown = (i: number, target: bigint) =>
    [...tables[i]]
      .sort((a, b) => ((bigs[a] ^ target) < (bigs[b] ^ target) ? -1 : 1))
      .slice(0, k)
      .map(contact);
  return { ids, bigs, tables, contact, closestKnown };
}

describe('iterativeLookup', () => {
  for (const n of [128, 1024]) {
    test(`from one seed, finds every target in a ${n}-node network in O(log n) rounds`, async () => {
      const k = 20;
      const net = network(n, k, n);
      const index = new Map(net.ids.map((id, i) => [Buffer.from(id).toString('hex'), i]));
      const r = rng(7);
      const rounds: Array<number> = [];
      for (let trial = 0; trial < 40; trial++) {
        // A newcomer that knows only the seed (node 0) looks for a random node.
        const from = 1 + Math.floor(r() * (n - 1));
        const to = 1 + ((from + Math.floor(r() * (n - 2))) % (n - 1));
        const res = await iterativeLookup({
          target: net.ids[to],
          self: net.ids[from],
          initial: [net.contact(0)],
          query: async (c) =>
            net.closestKnown(index.get(Buffer.from(c.nodeId).toString('hex'))!, net.bigs[to]),
          k,
        });
        expect(res.found?.nodeId).toEqual(net.ids[to]);
        rounds.push(res.rounds);
      }
      const worst = Math.max(...rounds);
      // Kademlia's bound with alpha = 3 parallel queries: about log2(n) / 3 rounds; allow log2(n).
      expect(worst).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
      console.log(
        `n=${n}: rounds per lookup mean ${(rounds.reduce((a, b) => a + b, 0) / rounds.length).toFixed(2)}, max ${worst}`,
      );
    });
  }

  test('without the target in the network it returns the k closest that answered, after a final sweep', async () => {
    const k = 8;
    const net = network(256, k, 3);
    const index = new Map(net.ids.map((id, i) => [Buffer.from(id).toString('hex'), i]));
    const target = new Uint8Array(32).fill(0x42) as NodeId;
    const t = big(target);
    const res = await iterativeLookup({
      target,
      self: net.ids[0],
      initial: net.closestKnown(0, t),
      query: async (c) => net.closestKnown(index.get(Buffer.from(c.nodeId).toString('hex'))!, t),
      k,
    });
    const truth = [...net.bigs.keys()]
      .sort((a, b) => ((net.bigs[a] ^ t) < (net.bigs[b] ^ t) ? -1 : 1))
      .slice(0, k);
    expect(res.found).toBeUndefined();
    expect(res.closest.map((c) => big(c.nodeId))).toEqual(truth.map((j) => net.bigs[j]));
  });

  test('nodes that fail or time out are skipped and reported; cancellation is typed', async () => {
    const k = 20;
    const net = network(256, k, 5);
    const index = new Map(net.ids.map((id, i) => [Buffer.from(id).toString('hex'), i]));
    const to = 200;
    const bad = new Set([...net.bigs.keys()].filter((j) => j % 3 === 0 && j !== to));
    const res = await iterativeLookup({
      target: net.ids[to],
      self: net.ids[1],
      initial: net.closestKnown(1, net.bigs[to]),
      query: async (c) => {
        const j = index.get(Buffer.from(c.nodeId).toString('hex'))!;
        if (bad.has(j)) throw new Error('timed out');
        return net.closestKnown(j, net.bigs[to]);
      },
      k,
    });
    expect(res.found?.nodeId).toEqual(net.ids[to]);
    expect(res.failed.every((f) => f.error === 'timed out')).toBe(true);
    const abort = new AbortController();
    abort.abort(new Error('stop'));
    await expect(
      iterativeLookup({
        target: net.ids[to],
        self: net.ids[1],
        initial: net.closestKnown(1, 0n),
        query: async () => [],
        signal: abort.signal,
      }),
    ).rejects.toThrow('Lookup cancelled');
  });
});
