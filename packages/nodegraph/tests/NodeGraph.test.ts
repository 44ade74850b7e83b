import type { NodeId } from '@node-network/network-interface';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { DB } from '../src/db.js';
import NodeGraph from '../src/NodeGraph.js';
import { bucketIndex, toBig, toKey } from '../src/utils.js';

const logger = new Logger('test', LogLevel.WARN);
const own = new Uint8Array(32).fill(0x5a) as NodeId;

/** An id in `bucket` of `own` (255: differs in the top bit), the rest from `seed`. */
function idIn(bucket: number, seed: number): NodeId {
  const o = toBig(own);
  let low = BigInt(seed) * 0x9e3779b97f4a7c15n;
  low &= (1n << BigInt(bucket)) - 1n;
  const id =
    ((o ^ (1n << BigInt(bucket))) & ~((1n << BigInt(bucket)) - 1n)) |
    (low ^ (o & ((1n << BigInt(bucket)) - 1n)));
  return new Uint8Array(toKey(id)) as NodeId;
}

async function withGraph<T>(
  config: ConstructorParameters<typeof NodeGraph>[0]['config'],
  f: (g: NodeGraph, dbPath: string) => Promise<T>,
): Promise<T> {
  const dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegraph-'));
  const db = await DB.createDB({ dbPath, logger: logger as any });
  const g = new NodeGraph({ db, nodeId: own, config, logger });
  await g.start();
  try {
    return await f(g, dbPath);
  } finally {
    await g.stop();
    await db.stop();
    fs.rmSync(dbPath, { recursive: true, force: true });
  }
}

const addr = (i: number) => ({
  host: `198.51.100.${(i % 250) + 1}`,
  port: 1314 + (i % 3),
  family: 'ipv4' as const,
  source: 'lookup' as const,
  scope: 'global' as const,
});

type ModelContact = {
  bucket: number;
  addresses: Map<string, { lastSeen: number; failures: number }>;
  lastSeen: number;
};

describe('NodeGraph', () => {
  test('buckets, addresses, persistence across a restart', async () => {
    const dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegraph-'));
    try {
      let db = await DB.createDB({ dbPath, logger: logger as any });
      let g = new NodeGraph({ db, nodeId: own, config: { k: 2 }, logger });
      await g.start();
      const a = idIn(200, 1);
      expect(g.bucketOf(a)).toBe(200);
      expect(await g.setAddress(a, addr(1), 1000)).toBe('added');
      expect(await g.setAddress(a, { ...addr(2) }, 2000)).toBe('updated');
      expect(await g.setAddress(idIn(200, 2), addr(3), 1500)).toBe('added');
      expect(await g.setAddress(idIn(200, 3), addr(4), 1600)).toBe('pending');
      expect(await g.bucketSize(200)).toBe(2);
      expect((await g.getContact(a))!.addresses.map((x) => x.host)).toEqual([
        '198.51.100.3',
        '198.51.100.2',
      ]);
      expect(await g.leastRecentlySeen(200, 2)).toEqual([idIn(200, 2), a]);
      await expect(g.setAddress(idIn(10, 1), { ...addr(1), port: 0 }, 1)).rejects.toThrow();
      await g.stop();
      await db.stop();
      db = await DB.createDB({ dbPath, logger: logger as any });
      g = new NodeGraph({ db, nodeId: own, config: { k: 2 }, logger });
      await g.start();
      expect(await g.size()).toBe(2);
      expect((await g.getContact(a))!.lastSeen).toBe(2000);
      await g.stop();
      await db.stop();
    } finally {
      fs.rmSync(dbPath, { recursive: true, force: true });
    }
  });

  test('a working address clears its failures and records the path; stale buckets are listed', async () => {
    await withGraph({ refreshInterval: 1000 }, async (g) => {
      const a = idIn(230, 1);
      await g.setAddress(a, addr(1), 100);
      await g.recordFailure(a, addr(1), 150);
      expect((await g.getContact(a))!.addresses[0].failures).toBe(1);
      await g.setAddress(a, addr(1), 200, { path: 'direct' });
      const c = (await g.getContact(a))!;
      expect(c.addresses[0]).toMatchObject({ failures: 0, lastSeen: 200 });
      expect(c.paths).toEqual({ direct: 200 });
      await g.setAddress(idIn(231, 1), addr(2), 100);
      expect(await g.staleBuckets(300)).toEqual([230, 231]);
      await g.markRefreshed(231, 300);
      expect(await g.staleBuckets(800)).toEqual([230]);
      expect(await g.staleBuckets(1400)).toEqual([230, 231]);
    });
  });

  test('an observed sighting keeps where we learnt an address; a local address stays local', async () => {
    await withGraph({}, async (g) => {
      const a = idIn(229, 1);
      const at = { host: '198.18.100.2', port: 1314, family: 'ipv4' as const };
      await g.setAddress(a, { ...at, source: 'mdns', scope: 'local' }, 100);
      await g.setAddress(a, { ...at, source: 'observed', scope: 'global' }, 200);
      expect((await g.getContact(a))!.addresses).toEqual([
        expect.objectContaining({ source: 'mdns', scope: 'local', lastSeen: 200 }),
      ]);
      // Any other source replaces it (a lookup, say), but the scope stays local.
      await g.setAddress(a, { ...at, source: 'lookup', scope: 'global' }, 300);
      expect((await g.getContact(a))!.addresses[0]).toMatchObject({
        source: 'lookup',
        scope: 'local',
      });
    });
  });

  test('ping before evict: a live oldest contact stays, a dead one makes room', async () => {
    await withGraph({ k: 2 }, async (g) => {
      const decisions: Array<string> = [];
      g.addEventListener('EventNodeGraphDecision', (e: any) =>
        decisions.push(`${e.detail.kind}: ${e.detail.reason}`),
      );
      await g.setAddress(idIn(255, 1), addr(1), 100);
      await g.setAddress(idIn(255, 2), addr(2), 200);
      expect(await g.setAddress(idIn(255, 3), addr(3), 300)).toBe('pending');
      await g.processPendingEvictions(
        async () => true,
        () => 400,
      );
      expect(await g.getContact(idIn(255, 3))).toBeUndefined();
      expect((await g.getContact(idIn(255, 1)))!.lastSeen).toBe(400);
      expect(await g.setAddress(idIn(255, 3), addr(3), 500)).toBe('pending');
      await g.processPendingEvictions(
        async () => false,
        () => 600,
      );
      expect(await g.getContact(idIn(255, 2))).toBeUndefined();
      expect(await g.getContact(idIn(255, 3))).toBeDefined();
      expect(decisions.some((d) => d.startsWith('evicted: no answer to a ping'))).toBe(true);
    });
  });

  test('gc drops failing and stale addresses, then contacts with none left, and says why', async () => {
    await withGraph({ addressTtl: 1000, maxAddressFailures: 2, gcBatchSize: 3 }, async (g) => {
      const decisions: Array<string> = [];
      g.addEventListener('EventNodeGraphDecision', (e: any) => decisions.push(e.detail.kind));
      for (let i = 1; i <= 10; i++) await g.setAddress(idIn(100 + i, i), addr(i), 0);
      await g.setAddress(idIn(101, 1), { ...addr(50) }, 900);
      await g.recordFailure(idIn(101, 1), addr(50), 950);
      await g.recordFailure(idIn(101, 1), addr(50), 960);
      await g.setAddress(idIn(102, 2), { ...addr(60), source: 'seed' }, 0);
      const r = await g.gc(1500);
      expect(r.scanned).toBe(10);
      expect(await g.size()).toBe(1);
      expect((await g.getContact(idIn(102, 2)))!.addresses.map((a) => a.source)).toEqual(['seed']);
      expect(r.contactsRemoved).toBe(9);
      expect(decisions.filter((d) => d === 'contact-removed')).toHaveLength(9);
    });
  });
});

describe('NodeGraph against a model', () => {
  // Which contact: seven ids in each of the six farthest buckets (so buckets of k = 3 fill up).
  const who = { bucket: fc.integer({ min: 250, max: 255 }), n: fc.nat({ max: 6 }) };
  const op = fc.oneof(
    fc.record({
      op: fc.constant('set' as const),
      ...who,
      a: fc.nat({ max: 4 }),
      t: fc.nat({ max: 5000 }),
    }),
    fc.record({
      op: fc.constant('delete' as const),
      ...who,
    }),
    fc.record({
      op: fc.constant('success' as const),
      ...who,
      t: fc.nat({ max: 5000 }),
    }),
    fc.record({
      op: fc.constant('fail' as const),
      ...who,
      a: fc.nat({ max: 4 }),
      t: fc.nat({ max: 5000 }),
    }),
    fc.record({ op: fc.constant('gc' as const), t: fc.nat({ max: 8000 }) }),
  );
  testProp.prop(
    [
      fc.array(op, { maxLength: 40 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.integer({ min: 1, max: 8 }),
    ],
    { numRuns: 40 },
  )(
    'after any operations: bucket invariants hold and closestNodes equals the model',
    async (ops, target, k) => {
      await withGraph(
        { k: 3, addressTtl: 3000, maxAddressFailures: 2, closestRangeLimit: 1 },
        async (g) => {
          const model = new Map<string, ModelContact>();
          const hex = (id: Uint8Array) => Buffer.from(id).toString('hex');
          const count = (b: number) => [...model.values()].filter((c) => c.bucket === b).length;
          for (const o of ops) {
            if (o.op === 'gc') {
              await g.gc(o.t);
              for (const [id, c] of model) {
                for (const [ak, a] of c.addresses)
                  if (a.failures >= 2 || o.t - a.lastSeen > 3000) c.addresses.delete(ak);
                if (c.addresses.size === 0) model.delete(id);
              }
              continue;
            }
            const id = idIn(o.bucket, o.n);
            const m = model.get(hex(id));
            if (o.op === 'set') {
              const a = addr(o.a);
              const r = await g.setAddress(id, a, o.t);
              const key = `${a.host}:${a.port}`;
              if (m == null) {
                if (count(o.bucket) >= 3) expect(r).toBe('pending');
                else
                  model.set(hex(id), {
                    bucket: o.bucket,
                    addresses: new Map([[key, { lastSeen: o.t, failures: 0 }]]),
                    lastSeen: o.t,
                  });
              } else {
                const prev = m.addresses.get(key);
                m.addresses.set(key, {
                  lastSeen: Math.max(prev?.lastSeen ?? 0, o.t),
                  failures: prev?.failures ?? 0,
                });
                m.lastSeen = Math.max(...[...m.addresses.values()].map((x) => x.lastSeen));
              }
            } else if (o.op === 'delete') {
              expect(await g.deleteContact(id)).toBe(m != null);
              model.delete(hex(id));
            } else if (o.op === 'success') {
              await g.recordSuccess(id, o.t);
              if (m != null) m.lastSeen = Math.max(m.lastSeen, o.t);
            } else if (o.op === 'fail') {
              const a = addr(o.a);
              await g.recordFailure(id, a, o.t);
              const x = m?.addresses.get(`${a.host}:${a.port}`);
              if (x != null) x.failures++;
            }
          }
          // Invariants: counts, bucket sizes <= k, every contact once in its bucket's LRU index.
          expect(await g.size()).toBe(model.size);
          for (let b = 250; b <= 255; b++) {
            expect(await g.bucketSize(b)).toBe(count(b));
            expect(count(b)).toBeLessThanOrEqual(3);
            const lru = (await g.leastRecentlySeen(b, 100)).map(hex);
            expect([...lru].sort()).toEqual(
              [...model.entries()]
                .filter(([, c]) => c.bucket === b)
                .map(([id]) => id)
                .sort(),
            );
          }
          for (const [id, c] of model) {
            const stored = await g.getContact(new Uint8Array(Buffer.from(id, 'hex')) as NodeId);
            expect(bucketIndex(toBig(own), toBig(Buffer.from(id, 'hex')))).toBe(c.bucket);
            expect(stored!.lastSeen).toBe(c.lastSeen);
          }
          // closestNodes equals the model's answer.
          const t = toBig(target);
          const expected = [...model.keys()]
            .sort((x, y) => {
              const dx = BigInt(`0x${x}`) ^ t;
              const dy = BigInt(`0x${y}`) ^ t;
              return dx < dy ? -1 : dx > dy ? 1 : 0;
            })
            .slice(0, k);
          const gotIds = (await g.closestNodes(target, k)).map((c) => c.nodeId);
          expect(gotIds).toEqual(expected.map((x) => encode(x)));
        },
      );
    },
  );
});

function encode(hexId: string): string {
  return identity.encodeNodeId(new Uint8Array(Buffer.from(hexId, 'hex')) as NodeId);
}
