import type { Address, NodeId } from '@node-network/network-interface';
import { formatAddress } from '@node-network/network-interface';
import type { SimHost } from '@node-network/netsim';
import type { NATProbeServerConfig } from 'node-network';
import type { Kind, KindNat, MatrixReport, PairResult } from './types.js';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { Network, Random, VirtualConnectionTransport, addSite } from '@node-network/netsim';
import { memoryOpener } from '@node-network/http-relay';
import { NodeNetwork } from 'node-network';
import { allPairs, kinds as allKinds, summarise } from './types.js';
import { natSummary, tryConnect } from './utils.js';

type SimNode = { nn: NodeNetwork; transport: VirtualConnectionTransport; host: SimHost };
/** Facade options a world's node may override. */
type NodeOptions = Partial<Parameters<typeof NodeNetwork.createNodeNetwork>[0]>;

/**
 * Public helper nodes (seeds and observers), outside the sites' ranges: three
 * per address family, each single-stack, so a dual-stack node's NAT is
 * observed in both families (one connection per NodeId carries one family).
 */
const helperIps = [
  { ipv4: '198.51.100.10' },
  { ipv4: '198.51.100.11' },
  { ipv4: '198.51.100.12' },
  { ipv6: '2001:db8:ff::10' },
  { ipv6: '2001:db8:ff::11' },
  { ipv6: '2001:db8:ff::12' },
  // Dual-stack: the relay between IPv4-only and IPv6-only nodes.
  { ipv4: '198.51.100.13', ipv6: '2001:db8:ff::13' },
];
const helperPort = 1314;
const httpRelayPort = 8080;
const probePort = 3478;

/**
 * One simulated world: a seeded network whose clock runs by itself, three
 * public helper nodes, and the nodes added to it. Everything is the real
 * NodeNetwork facade over netsim's transport.
 */
class SimWorld {
  public readonly network: Network;
  public readonly helpers: Array<SimNode> = [];
  protected nodes: Array<SimNode> = [];
  protected stopClock: () => void;
  protected seed: number;
  protected logger: Logger;

  public constructor(seed: number, logger: Logger) {
    this.seed = seed;
    this.logger = logger;
    this.network = new Network({ seed, latency: 20, jitter: 5 });
    this.stopClock = this.network.clock.autoRun();
  }

  public async start(): Promise<void> {
    for (const [i, ips] of helperIps.entries()) {
      const host = this.network.addHost({ name: `helper${i}`, ...ips });
      // A second address for the probe server's other-host answers.
      const alt = this.network.addHost({
        name: `helper${i}-alt`,
        ...(ips.ipv4 != null ? { ipv4: ips.ipv4.replace(/\.1(\d)$/, '.2$1') } : {}),
        ...(ips.ipv6 != null ? { ipv6: ips.ipv6.replace(/::1(\d)$/, '::2$1') } : {}),
      });
      const main = (ips.ipv4 ?? ips.ipv6)!;
      this.helpers.push(
        await this.addNode(host, helperPort, `helper${i}`, [
          {
            host: main,
            port: probePort,
            otherPort: probePort + 1,
            otherHost: (alt.ipv4 ?? alt.ipv6)!,
          },
        ]),
      );
    }
  }

  /** A node behind a NAT of `kind`, seeded with the helpers. */
  public async addSiteNode(
    kind: Kind,
    index: number,
    name: string,
    options: NodeOptions = {},
  ): Promise<SimNode> {
    const { host } = addSite(this.network, kind, { index, name });
    const relay = this.helpers.find((h) => h.host.ipv4 != null && h.host.ipv6 != null);
    if (kind === 'udp-blocked' && relay != null) {
      // Its only way out is TCP: the dual-stack helper's HTTP relay (in memory here, a WebSocket on netns).
      const open = memoryOpener({
        clock: this.network.clock,
        server: relay.nn.httpRelay!,
        local: { host: '198.18.0.2', port: 50000, family: 'ipv4' } as Address,
        remote: { host: relay.host.ipv4!, port: httpRelayPort, family: 'ipv4' } as Address,
      });
      options = {
        httpRelay: {
          relays: [`${relay.nn.nodeIdEncoded}@ws://${relay.host.ipv4}:${httpRelayPort}`],
          open,
        },
        ...options,
      };
    }
    return this.addNode(host, 0, name, undefined, options);
  }

  /** Learns the node's NAT from every helper of a family it has (`NodeNetwork.observeNat`). */
  public async bootstrap(node: SimNode): Promise<void> {
    const families = new Set(node.transport.localAddresses.map((a) => a.family));
    const reachable = this.helpers.filter((h) =>
      h.transport.localAddresses.some((a) => families.has(a.family)),
    );
    await node.nn.observeNat(reachable.map((h) => h.nn.nodeId));
  }

  public async destroy(): Promise<void> {
    for (const n of this.nodes.reverse()) {
      await n.nn.stop();
      await n.transport.stop();
    }
    this.stopClock();
  }

  protected async addNode(
    host: SimHost,
    port: number,
    name: string,
    natProbeServers?: Array<NATProbeServerConfig>,
    options: NodeOptions = {},
  ): Promise<SimNode> {
    const keyPair = identity.keyPairFromSeed(seedBytes(`${this.seed}/${name}`));
    const transport = new VirtualConnectionTransport({
      network: this.network,
      host,
      nodeId: keyPair.publicKey as NodeId,
    });
    await transport.start({ port });
    const seedNodes: Record<string, Array<string>> = {};
    for (const h of this.helpers) {
      seedNodes[h.nn.nodeIdEncoded] = h.transport.localAddresses.map(formatAddress);
    }
    // Seeded per node: signal nonces and punch payloads repeat from run to run.
    const random = new Random(this.seed * 7919 + this.nodes.length);
    const nn = await NodeNetwork.createNodeNetwork({
      keyPair,
      network: 'mainnet',
      transport,
      randomBytes: (n) => Uint8Array.from({ length: n }, () => random.int(0, 255)),
      clock: this.network.clock,
      seedNodes,
      natProbeServers,
      // Wildcards bind on the node's own host; a specific IP on whichever host has it.
      bindDatagramPort: async ({ host: ip, port: p, family }) =>
        this.network.bind(
          ip === '0.0.0.0' || ip === '::' ? host : this.network.hostByAddress(ip),
          family,
          p,
        ),
      logger: this.logger.getChild(name),
      ...options,
    });
    const node = { nn, transport, host };
    this.nodes.push(node);
    return node;
  }
}

function seedBytes(text: string): Uint8Array {
  // A fixed key per name and seed: runs repeat exactly (FNV-1a stretched to 32 bytes).
  const out = new Uint8Array(32);
  let h = 0x811c9dc5;
  for (let i = 0; i < 32; i++) {
    for (const c of `${text}#${i}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    out[i] = h & 0xff;
  }
  return out;
}

/** Connects `a`'s node to `b`'s by NodeId only, in a fresh world seeded by `seed`. */
async function runSimPair(
  a: Kind,
  b: Kind,
  seed: number,
  logger: Logger,
  connectTimeoutTime = 20_000,
): Promise<PairResult> {
  const world = new SimWorld(seed, logger);
  try {
    await world.start();
    const na = await world.addSiteNode(a, 1, `a-${a}`);
    const nb = await world.addSiteNode(b, 2, `b-${b}`);
    await Promise.all([world.bootstrap(na), world.bootstrap(nb)]);
    return { a, b, ...(await tryConnect(na.nn, nb.nn.nodeIdEncoded, connectTimeoutTime)) };
  } finally {
    await world.destroy();
  }
}

/** What a node behind `kind` concludes about its NAT from the three helpers. */
async function classifySimKind(kind: Kind, seed: number, logger: Logger): Promise<KindNat> {
  const world = new SimWorld(seed, logger);
  try {
    await world.start();
    const n = await world.addSiteNode(kind, 1, `nat-${kind}`);
    await world.bootstrap(n);
    const s = n.nn.status();
    return { kind, ipv4: natSummary(s.nat.ipv4), ipv6: natSummary(s.nat.ipv6) };
  } finally {
    await world.destroy();
  }
}

/** The whole matrix on netsim: one fresh, seeded world per pair. */
async function runSimMatrix({
  seed = 1,
  kinds = allKinds,
  logger = new Logger('matrix', LogLevel.WARN),
}: { seed?: number; kinds?: ReadonlyArray<Kind>; logger?: Logger } = {}): Promise<MatrixReport> {
  const t0 = performance.now();
  const pairs: Array<PairResult> = [];
  for (const [i, [a, b]] of allPairs(kinds).entries()) {
    pairs.push(await runSimPair(a, b, seed * 1000 + i, logger));
  }
  const nat: Array<KindNat> = [];
  for (const [i, k] of kinds.entries())
    nat.push(await classifySimKind(k, seed * 1000 + 500 + i, logger));
  return { lab: 'sim', pairs, summary: summarise(pairs), nat, wallMs: performance.now() - t0 };
}

export { seedBytes, runSimMatrix, runSimPair, classifySimKind, SimWorld };
