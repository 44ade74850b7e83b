import type { NodeId } from '@node-network/network-interface';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test, expect } from '@jest/globals';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { Network, VirtualConnectionTransport } from '@node-network/netsim';
import { NodeGraph, DB } from '@node-network/nodegraph';
import { UnaryHandler } from '@node-network/transport';
import NodeNetwork from '../src/NodeNetwork.js';
import * as errors from '../src/errors.js';

const logger = new Logger('findNode', LogLevel.WARN);

/** Node i on the simulated internet, with its own NodeGraph in its own RocksDB. */
async function world(
  n: number,
  seed: number,
  {
    handlersOf = () => ({}),
    nodeIdOf = () => identity.generateKeyPair().publicKey as NodeId,
    graphConfigOf = () => ({}),
  }: {
    handlersOf?: (i: number) => object;
    nodeIdOf?: (i: number) => NodeId;
    graphConfigOf?: (i: number) => object;
  } = {},
) {
  const network = new Network({ seed, latency: 10 });
  // Paced: the nodes' RocksDB work is real I/O (see VirtualClock.autoRun).
  const stopClock = network.clock.autoRun({ maxRate: 200 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'findnode-'));
  const nodes: Array<{
    nn: NodeNetwork;
    t: VirtualConnectionTransport;
    db: any;
    graph: NodeGraph;
  }> = [];
  for (let i = 0; i < n; i++) {
    const host = network.addHost({
      name: `n${i}`,
      ipv4: `198.51.${100 + (i >> 8)}.${(i & 255) + 1}`,
    });
    const nodeId = nodeIdOf(i);
    const t = new VirtualConnectionTransport({ network, host, nodeId });
    await t.start({ port: 1314 });
    const db = await DB.createDB({ dbPath: path.join(dir, `n${i}`), logger: logger as any });
    const graph = new NodeGraph({ db, nodeId, config: graphConfigOf(i), logger });
    await graph.start();
    const seedNodes = i === 0 ? {} : { [nodes[0].nn.nodeIdEncoded]: ['198.51.100.1:1314'] };
    const nn = await NodeNetwork.createNodeNetwork({
      network: 'mainnet',
      transport: t,
      clock: network.clock,
      nodeGraph: graph,
      seedNodes,
      handlers: handlersOf(i) as any,
      maintenance: false,
      logger,
    });
    nodes.push({ nn, t, db, graph });
  }
  return {
    nodes,
    destroy: async () => {
      for (const x of nodes.reverse()) {
        await x.nn.stop();
        await x.t.stop();
        await x.graph.stop();
        await x.db.stop();
      }
      stopClock();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('findNode: Kademlia lookups through the facade', () => {
  test('from one seed, every node finds others in few rounds, and remembers them', async () => {
    const n = 30;
    const w = await world(n, 1);
    try {
      for (const x of w.nodes.slice(1)) await x.nn.bootstrap({ timer: 10_000 });
      const rounds: Array<number> = [];
      for (let i = 1; i < n; i++) {
        const target = w.nodes[(i * 7) % n === i ? (i + 1) % n : (i * 7) % n];
        const r = await w.nodes[i].nn.findNode(target.nn.nodeIdEncoded, { timer: 10_000 });
        expect(r.nodeId).toBe(target.nn.nodeIdEncoded);
        rounds.push(r.rounds);
      }
      expect(Math.max(...rounds)).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
      // What a node connected to is in its table.
      const g = w.nodes[5].graph;
      expect(await g.getContact(w.nodes[0].nn.nodeId)).toBeDefined();
      console.log(
        `findNode over ${n} simulated nodes: rounds mean ${(rounds.reduce((a, b) => a + b, 0) / rounds.length).toFixed(2)}, max ${Math.max(...rounds)}`,
      );
    } finally {
      await w.destroy();
    }
  }, 60_000);

  test('hostile closestNodes answers are refused with typed errors and penalised; lookups go on', async () => {
    class Evil extends UnaryHandler<{ i: number }, any, any> {
      public handle = async () => {
        const k = this.container.i;
        if (k === 1)
          return { contacts: Array.from({ length: 50 }, () => ({ nodeId: 'x', addresses: [] })) };
        if (k === 2) return { contacts: 'nope' };
        const dup = {
          nodeId: identity.encodeNodeId(identity.generateKeyPair().publicKey as NodeId),
          addresses: ['198.51.100.9:1'],
        };
        return { contacts: [dup, dup] };
      };
    }
    const w = await world(6, 2, {
      handlersOf: (i) => (i >= 1 && i <= 3 ? { closestNodes: new Evil({ i }) } : {}),
    });
    try {
      const [seed, e1, e2, e3, a, b] = w.nodes;
      for (const x of [e1, e2, e3, a, b]) await x.nn.connect(seed.nn.nodeId);
      // a knows the liars (it connected to them) and the seed; b is known to the seed only.
      for (const x of [e1, e2, e3]) await a.nn.connect(x.nn.nodeId, [x.t.localAddresses[0]]);
      // A NodeId nobody has: the lookup asks everyone it knows, liars included, and fails cleanly.
      const stranger = identity.encodeNodeId(identity.generateKeyPair().publicKey as NodeId);
      await expect(a.nn.findNode(stranger, { timer: 10_000 })).rejects.toBeInstanceOf(
        errors.ErrorNodeNetworkNodeUnknown,
      );
      for (const x of [e1, e2, e3]) {
        expect((await a.graph.getContact(x.nn.nodeId))!.penalties).toBeGreaterThanOrEqual(1);
      }
      const audit = a.nn.status().audit.filter((x) => x.kind === 'lookup');
      expect(
        audit.some((x) => /ErrorRPCResponseInvalid|closestNodes from/.test(x.detail ?? '')),
      ).toBe(true);
      // The liars do not stop the honest path.
      const r = await a.nn.findNode(b.nn.nodeIdEncoded, { timer: 10_000 });
      expect(r.nodeId).toBe(b.nn.nodeIdEncoded);
    } finally {
      await w.destroy();
    }
  }, 60_000);

  test('a full bucket pings its least recently seen contact before evicting it (Kademlia rule)', async () => {
    // Node 0 has k = 1; nodes 1..3 all fall in its farthest bucket (first bit differs).
    const ids: Array<NodeId> = [identity.generateKeyPair().publicKey as NodeId];
    while (ids.length < 4) {
      const id = identity.generateKeyPair().publicKey as NodeId;
      if ((id[0] & 0x80) !== (ids[0][0] & 0x80)) ids.push(id);
    }
    const w = await world(4, 3, {
      nodeIdOf: (i) => ids[i],
      graphConfigOf: (i) => (i === 0 ? { k: 1 } : {}),
    });
    try {
      const [a, b, c, d] = w.nodes;
      const addr = (x: (typeof w.nodes)[number]) => [x.t.localAddresses[0]];
      const decisions = () =>
        a.nn
          .status()
          .audit.filter((r) => r.kind === 'nodegraph' && r.nodeId != null)
          .map((r) => `${r.detail!.split(':')[0]} ${r.nodeId}`);
      await a.nn.connect(b.nn.nodeId, addr(b));
      await a.nn.connect(c.nn.nodeId, addr(c));
      expect(a.graph.pendingCount()).toBe(1);
      // b answers its ping: it stays, c is not added.
      const r1 = await a.nn.maintain();
      expect(r1.pendingBefore).toBe(1);
      expect(await a.graph.getContact(b.nn.nodeId)).toBeDefined();
      expect(await a.graph.getContact(c.nn.nodeId)).toBeUndefined();
      expect(decisions()).toEqual([
        `kept ${b.nn.nodeIdEncoded}`,
        `candidate-dropped ${c.nn.nodeIdEncoded}`,
      ]);
      // b goes away; d arrives: b does not answer and is evicted for d.
      await b.nn.stop();
      await b.t.stop();
      for (let i = 0; i < 100 && a.nn.connectionManager.getConnection(b.nn.nodeId) != null; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await a.nn.connect(d.nn.nodeId, addr(d));
      expect(a.graph.pendingCount()).toBe(1);
      await a.nn.maintain();
      expect(await a.graph.getContact(b.nn.nodeId)).toBeUndefined();
      expect(await a.graph.getContact(d.nn.nodeId)).toBeDefined();
      expect(decisions().slice(2)).toEqual([`evicted ${b.nn.nodeIdEncoded}`]);
    } finally {
      await w.destroy();
    }
  }, 60_000);
});
