import type { Started } from './utils.js';
import { describe, test, expect } from '@jest/globals';
import { Lab } from '@node-network/netlab';
import { labAvailable, startIn } from './utils.js';

/**
 * A Polykey 1.15.1 agent behind one port-restricted NAT and a node-network
 * node behind another, in a netlab: they connect through a public seed of
 * either kind, by signalling and punching, in both directions (a fresh pair
 * per direction, so the second does not ride on the first's connection).
 */
async function pairThroughSeed(
  seedKind: 'polykey' | 'node-network',
): Promise<Array<{ direction: string; ok: boolean; detail: unknown }>> {
  const lab = await Lab.create({
    sites: [
      { name: 'pk', kind: 'port-restricted' },
      { name: 'nn', kind: 'port-restricted' },
    ],
  });
  const started: Array<Started> = [];
  const spawnIn = (ns: string, argv: Array<string>) => lab.spawn(ns, argv);
  try {
    const seedHost = lab.observerIps[0];
    const seed = await startIn(
      lab.observerNs,
      seedKind === 'polykey' ? 'polykeyAgent.mjs' : 'nodeAgent.mjs',
      { host: seedHost, port: 0 },
      spawnIn,
    );
    started.push(seed);
    const pkSeeds = { [seed.nodeId]: [seedHost, seed.port] };
    const nnSeeds = { [seed.nodeId]: [`${seedHost}:${seed.port}`] };
    const start = (which: 'pk' | 'nn') =>
      which === 'pk'
        ? startIn(
            lab.sites.get('pk')!.hostNs,
            'polykeyAgent.mjs',
            { host: '0.0.0.0', seeds: pkSeeds },
            spawnIn,
          )
        : startIn(
            lab.sites.get('nn')!.hostNs,
            'nodeAgent.mjs',
            { host: '0.0.0.0', seedNodes: nnSeeds },
            spawnIn,
          );
    const connectionTo = async (n: Started, nodeId: string) =>
      (
        (await n.proc.request('connections', {}, 10_000)) as Array<{
          nodeId: string;
          initiator: string;
          path: string;
          protocol: string;
        }>
      ).find((c) => c.nodeId === nodeId);
    const out: Array<{ direction: string; ok: boolean; detail: unknown }> = [];
    {
      // Ours dials: the agent joins and settles first, then our node joins and finds it.
      const p = await start('pk');
      started.push(p);
      await p.proc.request('ping', { nodeId: seed.nodeId }, 20_000);
      await new Promise((r) => setTimeout(r, 3_000));
      const n = await start('nn');
      started.push(n);
      await n.proc.request('bootstrap', {}, 20_000);
      const r = await n.proc.request('findNode', { nodeId: p.nodeId }, 40_000).then(
        (x) => ({ ok: true, detail: x }),
        (e) => ({ ok: false, detail: String(e) }),
      );
      const c = await connectionTo(n, p.nodeId);
      out.push({
        direction: 'node-network -> polykey',
        ok: r.ok && c?.initiator === 'local',
        detail: { ...r, connection: c },
      });
      await Promise.all([p.proc.stop(5_000), n.proc.stop(5_000)]);
    }
    {
      // The agent dials: our node joins first, then the agent joins and pings it by NodeId.
      const n = await start('nn');
      started.push(n);
      await n.proc.request('bootstrap', {}, 20_000);
      const p = await start('pk');
      started.push(p);
      const ping = async () =>
        (await p.proc.request('ping', { nodeId: n.nodeId }, 40_000).catch((e) => ({
          found: false,
          error: String(e),
        }))) as { found: boolean; tries?: number };
      // The agent's first ping sometimes misses our node (about 1 run in 4, through either seed
      // kind; see the package README). The agent's second ping is what a 1.x user gets on retry;
      // the test says how many it took.
      let r = await ping();
      r.tries = 1;
      if (!r.found) r = { ...(await ping()), tries: 2 };
      // Our side: the 1.x signal reached us (a punch toward the agent), then its connection came in.
      // (The agent may drop the connection once its ping is answered, so read the audit.)
      type Record = { kind: string; nodeId?: string; direction?: string; time: number };
      const find = (audit: Array<Record>) => ({
        punch: audit.find((x) => x.kind === 'punch' && x.nodeId === p.nodeId),
        inbound: audit.find(
          (x) => x.kind === 'connection-open' && x.nodeId === p.nodeId && x.direction === 'inbound',
        ),
      });
      // The agent's side completes its handshake a moment before ours records the connection.
      let seen = find((await n.proc.request('audit', {}, 10_000)) as Array<Record>);
      for (let i = 0; i < 30 && r.found && seen.inbound == null; i++) {
        await new Promise((res) => setTimeout(res, 100));
        seen = find((await n.proc.request('audit', {}, 10_000)) as Array<Record>);
      }
      const { punch, inbound } = seen;
      const punched = punch != null && inbound != null && punch.time <= inbound.time;
      out.push({
        direction: 'polykey -> node-network',
        ok: r.found && punched,
        detail: { ...r, punch, inbound },
      });
    }
    return out;
  } finally {
    await Promise.all(started.map((s) => s.proc.stop(5_000)));
    await lab.destroy();
  }
}

describe('Polykey 1.15.1 and node-network behind port-restricted NATs (netlab)', () => {
  for (const seedKind of ['node-network', 'polykey'] as const) {
    test(`through a ${seedKind} seed, both directions, by signalling and punching`, async () => {
      if (!(await labAvailable('the Polykey NAT interop test'))) return;
      const results = await pairThroughSeed(seedKind);
      console.log(`Polykey NAT interop through a ${seedKind} seed: ${JSON.stringify(results)}`);
      expect(results.map((r) => `${r.direction}: ${r.ok}`)).toEqual([
        'node-network -> polykey: true',
        'polykey -> node-network: true',
      ]);
      // Our side's view of our dial: a punched connection to the agent (both behind port-restricted NATs).
      expect((results[0].detail as { connection: object }).connection).toMatchObject({
        path: 'punched',
        protocol: 'polykey-1',
        initiator: 'local',
      });
    }, 150_000);
  }
});
