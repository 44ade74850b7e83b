import type { NodeId } from '@node-network/network-interface';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test, expect, afterEach } from '@jest/globals';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { NodeGraph, DB } from '@node-network/nodegraph';
import NodeNetwork from '../src/NodeNetwork.js';

const logger = new Logger('loopback', LogLevel.WARN);

type Node = { nn: NodeNetwork; graph: NodeGraph; db: any; keyPair: identity.KeyPair };

const dirs: Array<string> = [];
const running: Array<Node> = [];

/** A node on real QUIC (127.0.0.1) with its NodeGraph in its own RocksDB under `dbPath`. */
async function startNode(
  dbPath: string,
  {
    keyPair = identity.generateKeyPair(),
    seedNodes = [],
    port = 0,
    graphConfig = {},
    maintenance = false,
    lookupTimeoutTime,
  }: {
    keyPair?: identity.KeyPair;
    seedNodes?: Array<string>;
    port?: number;
    graphConfig?: object;
    maintenance?: object | false;
    lookupTimeoutTime?: number;
  } = {},
): Promise<Node> {
  const db = await DB.createDB({ dbPath, logger: logger as any });
  const graph = new NodeGraph({
    db,
    nodeId: keyPair.publicKey as NodeId,
    config: graphConfig,
    logger,
  });
  await graph.start();
  const nn = await NodeNetwork.createNodeNetwork({
    keyPair,
    network: 'testnet',
    listen: [{ host: '127.0.0.1', port }],
    seedNodes,
    nodeGraph: graph,
    maintenance: maintenance as any,
    lookupTimeoutTime,
    logger,
  });
  const node = { nn, graph, db, keyPair };
  running.push(node);
  return node;
}

async function stopNode(node: Node): Promise<void> {
  const i = running.indexOf(node);
  if (i !== -1) running.splice(i, 1);
  await node.nn.stop();
  await node.graph.stop();
  await node.db.stop();
}

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-loopback-'));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  // In parallel: one by one, 50 nodes took 19 to 24 s to stop on this machine (each closes its
  // connections gracefully), too close to the hook's limit under load.
  await Promise.all([...running].reverse().map((n) => stopNode(n).catch(() => {})));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}, 120_000);

describe('NodeGraph and Kademlia lookups on real QUIC (loopback)', () => {
  test('50 nodes from one seed: every node finds every other by NodeId, in O(log n) rounds', async () => {
    const n = 50;
    // k = 4: with Kademlia's k = 20 every table holds most of 50 nodes and a lookup takes one round.
    const k = 4;
    const dir = tmpDir();
    const seed = await startNode(path.join(dir, 'n0'), { graphConfig: { k } });
    const seedText = `${seed.nn.nodeIdEncoded}@${seed.nn.addresses[0]}`;
    const nodes = [seed];
    for (let i = 1; i < n; i++) {
      nodes.push(
        await startNode(path.join(dir, `n${i}`), { seedNodes: [seedText], graphConfig: { k } }),
      );
    }
    // Joining: each node connects to the seed and looks up its own NodeId.
    for (const x of nodes.slice(1)) await x.nn.bootstrap({ timer: 15_000 });
    const rounds: Array<number> = [];
    const queries: Array<number> = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        // A lookup unless already connected (lookups connect to the nodes they ask), then connect.
        const r = await nodes[i].nn.findNode(nodes[j].nn.nodeId, { timer: 15_000 });
        expect(r.nodeId).toBe(nodes[j].nn.nodeIdEncoded);
        if (r.reused) continue;
        rounds.push(r.rounds);
        queries.push(r.queries);
      }
    }
    const mean = (xs: Array<number>) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const log2n = Math.log2(n);
    const histogram: Record<number, number> = {};
    for (const r of rounds) histogram[r] = (histogram[r] ?? 0) + 1;
    console.log(
      `findNode over ${n} QUIC nodes on loopback, k = ${k}: ${n * (n - 1)} finds, ${rounds.length} needed a lookup; rounds mean ${mean(rounds).toFixed(2)}, max ${Math.max(...rounds)} (histogram ${JSON.stringify(histogram)}); queries mean ${mean(queries).toFixed(1)}, max ${Math.max(...queries)}; log2(n) = ${log2n.toFixed(2)}`,
    );
    // O(log n): no lookup takes more rounds than log2(n) + 1.
    expect(Math.max(...rounds)).toBeLessThanOrEqual(Math.ceil(log2n) + 1);
    // Every table keeps Kademlia's bound: at most k contacts per bucket.
    for (const x of nodes) {
      for (let bucket = 0; bucket < 256; bucket++) {
        expect(await x.graph.bucketSize(bucket)).toBeLessThanOrEqual(k);
      }
    }
    // 60-175 s on a quiet machine or beside one other job; a CI run beside four others took over 300 s.
  }, 480_000);

  test('restart: a node keeps its table, reaches known nodes by NodeId alone, and GC prunes the gone', async () => {
    const dir = tmpDir();
    const seed = await startNode(path.join(dir, 'seed'));
    const seedText = `${seed.nn.nodeIdEncoded}@${seed.nn.addresses[0]}`;
    const b = await startNode(path.join(dir, 'b'), { seedNodes: [seedText] });
    const c = await startNode(path.join(dir, 'c'), { seedNodes: [seedText] });
    for (const x of [b, c]) await x.nn.bootstrap({ timer: 10_000 });
    const aKey = identity.generateKeyPair();
    const a1 = await startNode(path.join(dir, 'a'), { keyPair: aKey, seedNodes: [seedText] });
    await a1.nn.bootstrap({ timer: 10_000 });
    await a1.nn.findNode(b.nn.nodeId, { timer: 10_000 });
    await a1.nn.findNode(c.nn.nodeId, { timer: 10_000 });
    const before = (await contactsOf(a1.graph)).sort();
    expect(before).toEqual([seed, b, c].map((x) => x.nn.nodeIdEncoded).sort());
    await stopNode(a1);
    // b is gone for good.
    await stopNode(b);
    // a comes back: same key, same database, no seeds; background maintenance every 250 ms,
    // every bucket due for a refresh.
    const a2 = await startNode(path.join(dir, 'a'), {
      keyPair: aKey,
      graphConfig: { refreshInterval: 0 },
      maintenance: { intervalTime: 250, gcIntervalTime: 250, pingTimeoutTime: 1_000 },
      lookupTimeoutTime: 1_000,
    });
    expect((await contactsOf(a2.graph)).sort()).toEqual(before);
    // Known nodes are reached by NodeId alone, from the table.
    expect((await a2.nn.connect(c.nn.nodeIdEncoded, undefined, { timer: 5_000 })).reused).toBe(
      false,
    );
    expect(await a2.nn.ping(seed.nn.nodeIdEncoded, { timer: 5_000 })).toBeGreaterThan(0);
    // The refresh lookups find b dead three times; GC then drops it.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await a2.graph.getContact(b.nn.nodeId)) != null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await a2.graph.getContact(b.nn.nodeId)).toBeUndefined();
    expect((await contactsOf(a2.graph)).sort()).toEqual(
      [seed, c].map((x) => x.nn.nodeIdEncoded).sort(),
    );
    const audit = a2.nn.status().audit.filter((r) => r.kind === 'nodegraph');
    const removed = audit.find(
      (r) => r.nodeId === b.nn.nodeIdEncoded && r.detail?.startsWith('contact-removed'),
    );
    expect(removed).toBeDefined();
    expect(
      audit.some(
        (r) =>
          r.nodeId === b.nn.nodeIdEncoded &&
          /address-dropped: \d+ failures in a row/.test(r.detail!),
      ),
    ).toBe(true);
    expect(audit.some((r) => r.detail?.startsWith('maintenance: '))).toBe(true);
  }, 120_000);
});

test('seeds by hostname are resolved at start; a name that does not resolve is audited, not fatal', async () => {
  const dir = tmpDir();
  const seed = await startNode(path.join(dir, 'seed'));
  const port = Number(seed.nn.addresses[0].split(':')[1]);
  const other = identity.encodeNodeId(identity.generateKeyPair().publicKey as NodeId);
  const db = await DB.createDB({ dbPath: path.join(dir, 'a'), logger: logger as any });
  const keyPair = identity.generateKeyPair();
  const graph = new NodeGraph({ db, nodeId: keyPair.publicKey as NodeId, logger });
  await graph.start();
  const nn = await NodeNetwork.createNodeNetwork({
    keyPair,
    network: 'testnet',
    listen: [{ host: '127.0.0.1', port: 0 }],
    seedNodes: [`${seed.nn.nodeIdEncoded}@localhost:${port}`, `${other}@seed.invalid:1314`],
    // An injected resolver: no DNS server is asked (no traffic leaves the machine).
    resolveHost: async (host) => {
      if (host === 'localhost') return ['127.0.0.1', '::1'];
      throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    },
    nodeGraph: graph,
    maintenance: false,
    logger,
  });
  running.push({ nn, graph, db, keyPair });
  expect(await nn.bootstrap({ timer: 10_000 })).toBeGreaterThanOrEqual(1);
  expect(nn.connectionManager.getConnection(seed.nn.nodeId)).toBeDefined();
  const contact = (await graph.getContact(seed.nn.nodeId))!;
  expect(contact.addresses.map((a) => `${a.family} ${a.host}:${a.port}`)).toEqual(
    expect.arrayContaining([`hostname localhost:${port}`, `ipv4 127.0.0.1:${port}`]),
  );
  const audit = nn.status().audit.filter((r) => r.kind === 'lookup');
  expect(
    audit.some(
      (r) => r.detail === `seed localhost:${port} resolved to 127.0.0.1:${port} [::1]:${port}`,
    ),
  ).toBe(true);
  expect(
    audit.some(
      (r) =>
        r.nodeId === other &&
        /seed.invalid:1314 did not resolve: getaddrinfo ENOTFOUND/.test(r.detail!),
    ),
  ).toBe(true);
}, 60_000);

async function contactsOf(graph: NodeGraph): Promise<Array<string>> {
  const out: Array<string> = [];
  for await (const c of graph.contacts()) out.push(c.nodeId);
  return out;
}
