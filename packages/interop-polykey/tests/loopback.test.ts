import type { Started } from './utils.js';
import { describe, test, expect, afterEach } from '@jest/globals';
import { labAvailable, loopbackNamespace, deleteNamespace, startIn } from './utils.js';

/**
 * Two real Polykey 1.15.1 agents and two node-network nodes in one loopback-only
 * namespace form one network, with either kind as the seed: every node finds
 * every other by NodeId (Polykey's `pingNode`, our `findNode` then `ping`).
 */
const started: Array<Started> = [];
const namespaces: Array<string> = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.proc.stop(5_000)));
  for (const ns of namespaces.splice(0)) deleteNamespace(ns);
});

async function everyoneFindsEveryone(seedKind: 'polykey' | 'node-network'): Promise<void> {
  const ns = loopbackNamespace(`nnpk${process.pid}${seedKind === 'polykey' ? 'p' : 'n'}`);
  namespaces.push(ns);
  const seed = await startIn(ns, seedKind === 'polykey' ? 'polykeyAgent.mjs' : 'nodeAgent.mjs', {
    host: '127.0.0.1',
    port: 0,
  });
  started.push(seed);
  const pkSeeds = { [seed.nodeId]: ['127.0.0.1', seed.port] };
  const nnSeeds = { [seed.nodeId]: [`127.0.0.1:${seed.port}`] };
  const others: Array<'polykey' | 'node-network'> =
    seedKind === 'polykey'
      ? ['polykey', 'node-network', 'node-network']
      : ['polykey', 'polykey', 'node-network'];
  const rest = await Promise.all(
    others.map((kind) =>
      kind === 'polykey'
        ? startIn(ns, 'polykeyAgent.mjs', { seeds: pkSeeds })
        : startIn(ns, 'nodeAgent.mjs', { seedNodes: nnSeeds }),
    ),
  );
  started.push(...rest);
  const all = [seed, ...rest];
  const isPolykey = (s: Started) => s.ready.rssMiB != null;
  expect(all.filter(isPolykey)).toHaveLength(2);
  // Everyone joins through the seed first (the seed learns each joiner from its connection):
  // our nodes bootstrap, the agents ping the seed (their own start-up sync runs in the background).
  await Promise.all(
    rest.map((s) =>
      isPolykey(s)
        ? s.proc.request('ping', { nodeId: seed.nodeId }, 20_000)
        : s.proc.request('bootstrap', {}, 20_000),
    ),
  );
  // An agent's ping returns once its side of the handshake is done, a moment before the seed has
  // taken the connection in: the lookups below start once the seed holds every joiner.
  const seedHolds = async () => {
    const held = (await seed.proc.request('connections', {}, 10_000)) as Array<
      string | { nodeId: string }
    >;
    const ids = new Set(held.map((c) => (typeof c === 'string' ? c : c.nodeId)));
    return rest.every((s) => ids.has(s.nodeId));
  };
  for (let i = 0; i < 50 && !(await seedHolds()); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const results = await Promise.all(
    all.flatMap((from) =>
      all
        .filter((to) => to !== from)
        .map(async (to) => {
          if (isPolykey(from)) {
            const r = (await from.proc.request('ping', { nodeId: to.nodeId }, 30_000)) as {
              found: boolean;
            };
            return { from: from.nodeId, to: to.nodeId, ok: r.found, how: 'pingNode' };
          }
          await from.proc.request('findNode', { nodeId: to.nodeId }, 30_000);
          await from.proc.request('ping', { nodeId: to.nodeId }, 20_000);
          return { from: from.nodeId, to: to.nodeId, ok: true, how: 'findNode+ping' };
        })
        .map((p, i) =>
          p.catch((e) => ({
            ok: false,
            from: from.nodeId,
            kind: isPolykey(from),
            to: all.filter((t) => t !== from)[i].nodeId,
            error: String(e),
          })),
        ),
    ),
  );
  expect(results.filter((r) => !r.ok)).toEqual([]);
  expect(results).toHaveLength(12);
}

describe('node-network and Polykey 1.15.1 agents in one network (loopback namespace)', () => {
  test('a Polykey agent as the seed', async () => {
    if (!(await labAvailable('the Polykey interop test'))) return;
    await everyoneFindsEveryone('polykey');
  }, 180_000);

  test('a node-network node as the seed', async () => {
    if (!(await labAvailable('the Polykey interop test'))) return;
    await everyoneFindsEveryone('node-network');
  }, 180_000);
});
