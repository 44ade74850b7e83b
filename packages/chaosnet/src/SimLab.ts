import type { Address, Stream } from '@node-network/network-interface';
import type { NATBox, SimHost, VirtualConnectionTransport } from '@node-network/netsim';
import type { NodeNetwork, NATProbeServerConfig } from 'node-network';
import type { ChaosLab, ChaosNode, PartitionHandle } from './lab.js';
import type { Kind, NodeView, Path, ReloadableKind } from './types.js';
import Logger, { LogLevel } from '@matrixai/logger';
import { formatAddress } from '@node-network/network-interface';
import { addSite, natConfigs } from '@node-network/netsim';
import { memoryOpener } from '@node-network/http-relay';
import { SimWorld } from '@node-network/matrix';
import * as ops from './ops.js';
import { ChecksumSinkHandler, EchoHandler } from './handlers.js';
import { ErrorChaosFault, ErrorChaosNodeDown, ErrorChaosUnreachable } from './errors.js';

type SimEntry = { nn: NodeNetwork; transport: VirtualConnectionTransport; host: SimHost };
type NodeOptions = Partial<Parameters<typeof NodeNetwork.createNodeNetwork>[0]>;

const helperPort = 1314;
const httpRelayPort = 8080;
const probePort = 3478;

/**
 * SimWorld (the matrix's netsim world: seeded network, self-running virtual
 * clock, public helpers) with what chaos needs on top: nodes that can be
 * killed and started again under the same key.
 */
class ChaosSimWorld extends SimWorld {
  public node(
    host: SimHost,
    port: number,
    keyName: string,
    natProbeServers: Array<NATProbeServerConfig> | undefined,
    options: NodeOptions,
  ): Promise<SimEntry> {
    return this.addNode(host, port, keyName, natProbeServers, options);
  }
}

class SimNode implements ChaosNode {
  public kind: Kind;
  public up = false;
  public incarnation = 0;
  public nodeId = '';
  public entry?: SimEntry;
  /** The HTTP relay streams this node opened (udp-blocked nodes): cut when their path is. */
  public httpStreams = new Set<Stream>();

  public constructor(
    protected lab: SimLab,
    public readonly name: string,
    kind: Kind,
    public readonly helper: boolean,
    public readonly relay: boolean,
    public readonly host: SimHost,
    public readonly nats: Array<NATBox>,
    /** The name its key is derived from (helpers keep the matrix's `helper<i>`). */
    public readonly keyName: string,
  ) {
    this.kind = kind;
  }

  protected get nn(): NodeNetwork {
    if (!this.up || this.entry == null) throw new ErrorChaosNodeDown(`${this.name} is down`);
    return this.entry.nn;
  }

  protected deadline(timeoutMs: number): ops.OpDeadline {
    return { clock: this.lab.clock, timeoutMs };
  }

  public connect(target: string, timeoutMs: number) {
    return ops.connect(this.nn, target, this.deadline(timeoutMs));
  }

  public echo(target: string, data: string, timeoutMs: number) {
    return ops.echo(this.nn, target, data, this.deadline(timeoutMs));
  }

  public transfer(target: string, bytes: number, seed: number, timeoutMs: number) {
    return ops.transfer(this.nn, target, bytes, seed, this.deadline(timeoutMs));
  }

  public lookup(via: string, target: string, timeoutMs: number) {
    return ops.lookup(this.nn, via, target, this.deadline(timeoutMs));
  }

  public disconnect(target: string) {
    return ops.disconnect(this.nn, target);
  }

  public async view(): Promise<NodeView> {
    if (!this.up || this.entry == null) {
      return { up: false, connections: [], knownNodes: 0, addresses: [] };
    }
    const s = this.entry.nn.status();
    const connections = s.connections.map((c) => ({
      nodeId: c.nodeId,
      path: c.path as Path,
      ...(c.relay != null ? { relay: c.relay } : {}),
    }));
    return {
      up: true,
      connections,
      knownNodes: Object.keys(s.knownNodes).length,
      addresses: s.addresses,
    };
  }
}

/**
 * The chaos lab on netsim: the matrix's SimWorld (seeded network with 20 ms
 * links and 5 ms jitter, seven public helpers, the real NodeNetwork facade
 * over netsim's transport) and nodes behind NATs of the scenario's kinds.
 * Faults map to netsim's hooks: a kill isolates the host and stops the node,
 * NAT kind and address changes reconfigure or renumber its NAT, partitions,
 * loss and latency are netsim's. The HTTP relay path of `udp-blocked` nodes
 * (in memory, beside netsim) is cut when a fault cuts that node from the relay.
 */
class SimLab implements ChaosLab {
  public readonly lab = 'sim' as const;
  public readonly world: ChaosSimWorld;
  public readonly nodes: Array<SimNode> = [];
  public readonly helpers: Array<SimNode> = [];
  protected seed: number;
  protected logger: Logger;
  protected tamper: ReadonlySet<string>;
  protected nextAddress = 0;

  public constructor({
    seed,
    logger = new Logger('chaosnet', LogLevel.ERROR),
    tamper = [],
  }: {
    seed: number;
    logger?: Logger;
    /** Nodes whose sink flips a bit of what it receives (to prove the integrity check fails). */
    tamper?: ReadonlyArray<string>;
  }) {
    this.seed = seed;
    this.logger = logger;
    this.tamper = new Set(tamper);
    this.world = new ChaosSimWorld(seed, logger);
  }

  public get clock() {
    return this.world.network.clock;
  }

  public get network() {
    return this.world.network;
  }

  public async start(kinds: ReadonlyArray<Kind>): Promise<void> {
    await this.world.start();
    for (const [i, h] of this.world.helpers.entries()) {
      const name = i < 6 ? `seed${i}` : 'relay';
      const node = new SimNode(this, name, 'open', true, i === 6, h.host, [], `helper${i}`);
      node.entry = h;
      node.up = true;
      node.nodeId = h.nn.nodeIdEncoded;
      this.helpers.push(node);
    }
    for (const [i, kind] of kinds.entries()) {
      const name = `n${i}`;
      const { host, nats } = addSite(this.network, kind, { index: i + 1, name });
      const node = new SimNode(this, name, kind, false, false, host, nats, `chaos-${name}`);
      this.nodes.push(node);
      await this.startNode(node);
    }
    await Promise.all(this.nodes.map((n) => this.bootstrap(n)));
  }

  protected seedNodes(): Record<string, Array<string>> {
    const out: Record<string, Array<string>> = {};
    for (const h of this.helpers) {
      out[h.nodeId] = [h.host.ipv4, h.host.ipv6]
        .filter((ip): ip is NonNullable<typeof ip> => ip != null)
        .map((host) => formatAddress({ host, port: helperPort } as Address));
    }
    return out;
  }

  protected relayHelper(): SimNode {
    return this.helpers.find((h) => h.relay)!;
  }

  /** Whether a node's (simulated) TCP path to the HTTP relay is cut. */
  protected httpPathCut(node: SimNode): boolean {
    const relay = this.relayHelper();
    return (
      !node.up ||
      !relay.up ||
      this.network.isPartitioned(node.host, relay.host) ||
      this.network.hostConditions(node.host).loss >= 1
    );
  }

  /** Cuts the HTTP relay streams whose path a fault has cut (as a TCP reset would). */
  protected cutHttpPaths(): void {
    for (const n of this.nodes) {
      if (n.httpStreams.size === 0 || !this.httpPathCut(n)) continue;
      for (const s of n.httpStreams) s.cancel(new ErrorChaosUnreachable('HTTP relay path cut'));
      n.httpStreams.clear();
    }
  }

  protected async startNode(node: SimNode): Promise<void> {
    let options: NodeOptions = {
      seedNodes: this.seedNodes(),
      handlers: {
        chaosSink: new ChecksumSinkHandler({ tamper: this.tamper.has(node.name) }),
        chaosEcho: new EchoHandler({ name: node.name }),
      },
    };
    if (node.kind === 'udp-blocked') {
      const relay = this.relayHelper();
      const local = { host: '198.18.0.2', port: 50000, family: 'ipv4' } as Address;
      const remote = { host: relay.host.ipv4!, port: httpRelayPort, family: 'ipv4' } as Address;
      const open: typeof memoryOpener extends (...a: any) => infer R ? R : never = async (
        ...args
      ) => {
        if (this.httpPathCut(node)) {
          throw new ErrorChaosUnreachable(
            `Connection refused: ${formatAddress(remote)} is unreachable from ${node.name}`,
          );
        }
        const r = await memoryOpener({
          clock: this.clock,
          server: relay.entry!.nn.httpRelay!,
          local,
          remote,
        })(...args);
        node.httpStreams.add(r.stream);
        return r;
      };
      options = {
        ...options,
        httpRelay: { relays: [`${relay.nodeId}@ws://${relay.host.ipv4}:${httpRelayPort}`], open },
      };
    }
    let natProbeServers: Array<NATProbeServerConfig> | undefined;
    let port = 0;
    if (node.helper) {
      port = helperPort;
      const i = Number(node.keyName.slice('helper'.length));
      const alt = this.network.host(`helper${i}-alt`);
      natProbeServers = [
        {
          host: (node.host.ipv4 ?? node.host.ipv6)!,
          port: probePort,
          otherPort: probePort + 1,
          otherHost: (alt.ipv4 ?? alt.ipv6)!,
        },
      ];
      // (The relay helper's HTTP relay endpoint is its facade's, reached in memory: no listen here.)
      options = {
        handlers: options.handlers,
        seedNodes: Object.fromEntries(
          Object.entries(this.seedNodes()).filter(([k]) => k !== node.nodeId),
        ),
      };
    }
    node.entry = await this.world.node(node.host, port, node.keyName, natProbeServers, options);
    node.nodeId = node.entry.nn.nodeIdEncoded;
    node.up = true;
  }

  protected async bootstrap(node: SimNode): Promise<void> {
    if (node.entry == null) return;
    await this.world.bootstrap(node.entry).catch(() => {});
  }

  public async kill(node: SimNode): Promise<void> {
    if (!node.up || node.entry == null) return;
    const island = this.network.partition([node.host]);
    node.up = false;
    node.incarnation++;
    this.cutHttpPaths();
    // The process is gone at once: its sockets first (every connection dies with no goodbye
    // reaching anyone), then what is left of the node, with nothing to wait for.
    const { nn, transport } = node.entry;
    await transport.stop().catch(() => {});
    this.network.heal(island);
    await nn.stop().catch(() => {});
  }

  public async restart(node: SimNode): Promise<void> {
    if (node.up) return;
    await this.startNode(node);
    if (!node.helper) await this.bootstrap(node);
  }

  public async setNat(node: SimNode, kind: ReloadableKind): Promise<void> {
    const box = node.nats.at(-1);
    if (box == null || node.nats.length !== 1) {
      throw new ErrorChaosFault(`${node.name} (${node.kind}) has no single NAT to reconfigure`);
    }
    this.network.setNatConfig(box, natConfigs[kind]);
    node.kind = kind;
  }

  public async changeAddress(node: SimNode): Promise<string> {
    const box = node.nats[0];
    if (box == null)
      throw new ErrorChaosFault(`${node.name} (${node.kind}) has no NAT to renumber`);
    const k = this.nextAddress++;
    const ip = `198.19.${200 + Math.floor(k / 254)}.${(k % 254) + 1}`;
    this.network.renumberNat(box, ip);
    return ip;
  }

  public async partition(nodes: ReadonlyArray<SimNode>): Promise<PartitionHandle> {
    const p = this.network.partition(nodes.map((n) => n.host));
    this.handles.set(p.id, p);
    this.cutHttpPaths();
    return { id: p.id, nodes: nodes.map((n) => n.name) };
  }

  protected handles = new Map<number, ReturnType<SimLab['network']['partition']>>();

  public async heal(p: PartitionHandle): Promise<void> {
    const h = this.handles.get(p.id);
    if (h == null) return;
    this.handles.delete(p.id);
    this.network.heal(h);
  }

  public async setLoss(node: SimNode | 'all', percent: number): Promise<void> {
    if (node === 'all') this.network.conditions.loss = percent / 100;
    else this.network.setHostLoss(node.host, percent / 100);
    this.cutHttpPaths();
  }

  public async setLatency(node: SimNode, ms: number): Promise<string> {
    this.network.setHostLatency(node.host, ms);
    return 'netsim host latency';
  }

  public async memoryMiB(): Promise<number> {
    return process.memoryUsage().heapUsed / 2 ** 20;
  }

  public pendingTimers(): number {
    return this.clock.pending;
  }

  public async destroy(): Promise<void> {
    await this.world.destroy();
  }
}

export default SimLab;
export { SimNode };
