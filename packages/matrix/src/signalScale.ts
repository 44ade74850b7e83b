import type { NodeId } from '@node-network/network-interface';
import { formatAddress } from '@node-network/network-interface';
import type { Kind } from './types.js';
import Logger, { LogLevel } from '@matrixai/logger';
import { Random } from '@node-network/netsim';
import { SimWorld } from './sim.js';

type SignalScaleOptions = {
  nodes?: number;
  /** Nodes with public addresses among them (the rest are behind NATs). */
  open?: number;
  /** NAT kinds of the other nodes, round robin. */
  kinds?: ReadonlyArray<Kind>;
  /** Each node's closest nodes (XOR) it keeps connections to. */
  closest?: number;
  /** Random node pairs that connect by signalling once the overlay is built. */
  pairs?: number;
  /** Pairs connecting at once. */
  concurrency?: number;
  /** Nodes start building their overlay at random within this time, ms. */
  joinSpreadTime?: number;
  seed?: number;
  logger?: Logger;
};

type Percentiles = { p50: number; p99: number; max: number; mean: number };

type SignalScaleResult = {
  nodes: number;
  open: number;
  kinds: ReadonlyArray<Kind>;
  /** Overlay connections the nodes asked for (closest plus one per bucket), and how many opened. */
  overlay: {
    wanted: number;
    opened: number;
    failed: number;
    /** Signals refused by a rate limit and sent again after the time it named. */
    rateLimitedRetries: number;
    virtualMs: number;
  };
  pairs: number;
  connected: number;
  failed: number;
  /** Failure reasons (error name: count). */
  failures: Record<string, number>;
  /** Intermediate nodes each signal passed through (0: the first hop was connected to the target). */
  hops: Percentiles;
  log2n: number;
  /** Signal messages a node handled while the pairs connected (forwarded, answered or refused). */
  messagesPerNode: Percentiles & { total: number };
  virtualMs: number;
  wallMs: number;
  heapUsedMB: number;
};

const kindsDefault: ReadonlyArray<Kind> = [
  'full-cone',
  'restricted',
  'port-restricted',
  'double-nat',
  'symmetric',
];

function big(id: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(id).toString('hex')}`);
}

function percentiles(values: ReadonlyArray<number>): Percentiles {
  if (values.length === 0) return { p50: 0, p99: 0, max: 0, mean: 0 };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return {
    p50: at(0.5),
    p99: at(0.99),
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/**
 * Decentralised signalling at scale on netsim, with the real facade: `nodes`
 * nodes, `open` of them public and the rest behind mixed NATs. Each node
 * first reaches the world's public helpers, then builds its overlay: a
 * connection to each of its `closest` nodes by XOR distance and to one node
 * in every other distance bucket (the Kademlia table that NodeGraph
 * maintenance keeps), punched through signals the helpers carry. Then every
 * node drops the helpers, and random pairs that are not connected connect
 * by signalling through the overlay alone: how many hops each signal took
 * and how many signal messages each node handled are what it reports. A
 * pair of two symmetric NATs is left out of both (that needs a relay).
 */
async function runSignalScale({
  nodes = 1000,
  open = 10,
  kinds = kindsDefault,
  closest = 8,
  pairs = 200,
  concurrency = 25,
  joinSpreadTime = 20_000,
  seed = 1,
  logger = new Logger('signal-scale', LogLevel.ERROR),
}: SignalScaleOptions = {}): Promise<SignalScaleResult> {
  const wall0 = performance.now();
  const world = new SimWorld(seed, logger);
  const clock = world.network.clock;
  const random = new Random(seed * 104729);
  try {
    await world.start();
    const kindOf = (i: number): Kind => (i < open ? 'open' : kinds[(i - open) % kinds.length]);
    const list: Array<Awaited<ReturnType<SimWorld['addSiteNode']>>> = [];
    for (let i = 0; i < nodes; i++) {
      list.push(
        await world.addSiteNode(kindOf(i), i + 1, `n${i}`, {
          auditLimit: 5_000,
          // Overlay connections are long-lived (as a NATed node keeps its table's), not idle-closed.
          connectionConfig: { connectionIdleTimeoutTime: 3_600_000 },
        }),
      );
    }
    const helpers4 = world.helpers.filter((h) => h.host.ipv4 != null);
    const ids = list.map((n) => big(n.nn.nodeId));
    const sym = (i: number) => kindOf(i) === 'symmetric';
    // Every node reaches the public helpers; symmetric ones learn their NAT (it picks their punches).
    await Promise.all(
      list.map(async (n, i) => {
        for (const h of helpers4) await n.nn.connect(h.nn.nodeId).catch(() => {});
        if (sym(i)) await world.bootstrap(n);
      }),
    );
    // The overlay: closest nodes and one per distance bucket, never two symmetric NATs.
    const wanted = new Map<number, Set<number>>();
    const want = (i: number, j: number) => {
      const [a, b] = i < j ? [i, j] : [j, i];
      if (!wanted.has(a)) wanted.set(a, new Set());
      wanted.get(a)!.add(b);
    };
    for (let i = 0; i < nodes; i++) {
      const others = [];
      for (let j = 0; j < nodes; j++) {
        if (j !== i && !(sym(i) && sym(j))) others.push({ j, d: ids[i] ^ ids[j] });
      }
      others.sort((x, y) => (x.d < y.d ? -1 : x.d > y.d ? 1 : 0));
      for (const { j } of others.slice(0, closest)) want(i, j);
      const buckets = new Map<number, Array<number>>();
      for (const { j, d } of others.slice(closest)) {
        const b = d.toString(2).length;
        if (!buckets.has(b)) buckets.set(b, []);
        buckets.get(b)!.push(j);
      }
      for (const members of buckets.values()) want(i, members[random.int(0, members.length - 1)]);
    }
    const v0 = clock.now();
    let opened = 0;
    let overlayFailed = 0;
    let overlayRetries = 0;
    let wantedCount = 0;
    for (const s of wanted.values()) wantedCount += s.size;
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));
    await Promise.all(
      [...wanted.entries()].map(async ([i, js]) => {
        // Nodes join over `joinSpreadTime`, as a real network's do, not all in one instant.
        await sleep(random.int(0, joinSpreadTime));
        for (const j of js) {
          for (let attempt = 1; ; attempt++) {
            try {
              const target = list[j].nn.nodeId;
              if (kindOf(j) === 'open') {
                await list[i].nn.connect(
                  target,
                  list[j].transport.localAddresses.map(formatAddress),
                );
              } else {
                await list[i].nn.signalling!.connect(target, { timer: 20_000 });
              }
              opened++;
              break;
            } catch (e) {
              // A rate-limited signal says when to come back; the node does.
              const m = /retry after (\d+) ms/.exec(String((e as Error).message));
              if (m == null || attempt === 8) {
                overlayFailed++;
                break;
              }
              overlayRetries++;
              await sleep(Number(m[1]) + random.int(0, 500));
            }
          }
        }
      }),
    );
    const overlayMs = clock.now() - v0;
    // No more help: every node leaves the public helpers.
    for (const n of list) {
      for (const h of world.helpers) {
        await n.nn.connectionManager.getConnection(h.nn.nodeId)?.connection.close();
      }
    }
    const connected = (i: number, j: number) =>
      list[i].nn.connectionManager.getConnection(list[j].nn.nodeId) != null;
    const chosen: Array<[number, number]> = [];
    for (let tries = 0; chosen.length < pairs && tries < pairs * 100; tries++) {
      const a = random.int(0, nodes - 1);
      const b = random.int(0, nodes - 1);
      if (a === b || (sym(a) && sym(b)) || connected(a, b)) continue;
      if (chosen.some(([x, y]) => (x === a && y === b) || (x === b && y === a))) continue;
      chosen.push([a, b]);
    }
    const m0 = clock.wallTime();
    const hops: Array<number> = [];
    const failures: Record<string, number> = {};
    let ok = 0;
    for (let k = 0; k < chosen.length; k += concurrency) {
      await Promise.all(
        chosen.slice(k, k + concurrency).map(async ([a, b]) => {
          const na = list[a].nn;
          const nb = list[b].nn;
          try {
            await na.signalling!.connect(nb.nodeId as NodeId, { timer: 20_000 });
            ok++;
          } catch (e) {
            const name = (e as Error).name;
            failures[name] = (failures[name] ?? 0) + 1;
          }
          const prefix = `signalled by ${na.nodeIdEncoded} through `;
          const r = nb
            .status()
            .audit.find((x) => x.kind === 'signal' && x.detail?.startsWith(prefix));
          if (r != null) hops.push(Number(r.detail!.slice(prefix.length).split(' ')[0]));
        }),
      );
    }
    const perNode = list.map(
      (n) =>
        n.nn
          .status()
          .audit.filter(
            (x) =>
              x.kind === 'signal' &&
              x.time >= m0 &&
              /^(forwarded|signalled by|refused|could not forward)/.test(x.detail ?? ''),
          ).length,
    );
    const result: SignalScaleResult = {
      nodes,
      open,
      kinds,
      overlay: {
        wanted: wantedCount,
        opened,
        failed: overlayFailed,
        rateLimitedRetries: overlayRetries,
        virtualMs: overlayMs,
      },
      pairs: chosen.length,
      connected: ok,
      failed: chosen.length - ok,
      failures,
      hops: percentiles(hops),
      log2n: Math.log2(nodes),
      messagesPerNode: { ...percentiles(perNode), total: perNode.reduce((a, b) => a + b, 0) },
      virtualMs: clock.now() - v0,
      wallMs: 0,
      heapUsedMB: process.memoryUsage().heapUsed / 2 ** 20,
    };
    result.wallMs = performance.now() - wall0;
    return result;
  } finally {
    await world.destroy();
  }
}

export { runSignalScale };
export type { SignalScaleOptions, SignalScaleResult };
