import type Logger from '@matrixai/logger';
import type { LabSite } from '@node-network/netlab';
import type { ChaosLab, ChaosNode, PartitionHandle } from './lab.js';
import type { ConnectOutcome, TransferOutcome } from './ops.js';
import type { Kind, NodeView, Path, ReloadableKind } from './types.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlledProcess, canRunNetlab, natRules } from '@node-network/netlab';
import { RealClock } from '@node-network/transport';
import ChaosNetlab from './ChaosNetlab.js';
import {
  ErrorChaosAgent,
  ErrorChaosFault,
  ErrorChaosLabUnavailable,
  ErrorChaosNodeDown,
} from './errors.js';

/** The built agent (dist/bin/agent.js, from src/ or dist/ alike). */
const agentScript = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'dist',
  'bin',
  'agent.js',
);
const helperPort = 1314;
const httpRelayPort = 8080;
const probePort = 3478;

/** Whether a netns chaos run can happen here; `reason` says why not. */
async function canRunNetns(): Promise<{ ok: boolean; reason?: string }> {
  const can = await canRunNetlab();
  if (!can.ok) return can;
  if (!fs.existsSync(agentScript)) {
    return { ok: false, reason: `${agentScript} is missing: build first (pnpm build)` };
  }
  return { ok: true };
}

type AgentConfig = Record<string, unknown> & { name: string };

/** An operation's failure as the agent reported it: its class name kept. */
function remoteError(e: { name: string; message: string }): Error {
  const err = new ErrorChaosAgent(e.message);
  Object.defineProperty(err, 'name', { value: e.name });
  return err;
}

class NetnsNode implements ChaosNode {
  public kind: Kind;
  public up = false;
  public incarnation = 0;
  public nodeId = '';
  public proc?: ControlledProcess;
  public pid?: number;

  public constructor(
    protected lab: NetnsLab,
    public readonly name: string,
    kind: Kind,
    public readonly helper: boolean,
    public readonly relay: boolean,
    /** Where its process runs. */
    public readonly ns: string,
    public readonly site: LabSite | undefined,
    public readonly config: AgentConfig,
  ) {
    this.kind = kind;
  }

  /** One operation in the agent; the request's own limit is well past the op's watchdog. */
  protected async op<T>(cmd: string, args: object, timeoutMs: number): Promise<T> {
    const proc = this.proc;
    if (!this.up || proc == null) throw new ErrorChaosNodeDown(`${this.name} is down`);
    const r = (await proc.request(cmd, args, timeoutMs + 120_000)) as {
      ok: boolean;
      result?: T;
      error?: { name: string; message: string };
    };
    if (!r.ok) throw remoteError(r.error ?? { name: 'Error', message: 'no error given' });
    return r.result as T;
  }

  public connect(target: string, timeoutMs: number): Promise<ConnectOutcome> {
    return this.op('connect', { target, timeoutMs }, timeoutMs);
  }

  public echo(target: string, data: string, timeoutMs: number) {
    return this.op<{ path: Path; echoed: boolean }>('echo', { target, data, timeoutMs }, timeoutMs);
  }

  public transfer(target: string, bytes: number, seed: number, timeoutMs: number) {
    return this.op<TransferOutcome>('transfer', { target, bytes, seed, timeoutMs }, timeoutMs);
  }

  public lookup(via: string, target: string, timeoutMs: number) {
    return this.op<{ path: Path; addresses: number }>(
      'lookup',
      { via, target, timeoutMs },
      timeoutMs,
    );
  }

  public disconnect(target: string) {
    return this.op<{ closed: boolean }>('disconnect', { target }, 10_000);
  }

  public async view(): Promise<NodeView> {
    const down: NodeView = { up: false, connections: [], knownNodes: 0, addresses: [] };
    if (!this.up || this.proc == null) return down;
    // Killed while asked: a node that cannot answer is seen as down.
    return ((await this.proc.request('view', {}, 30_000).catch(() => down)) as NodeView) ?? down;
  }
}

/**
 * The chaos lab in network namespaces: netlab's real kernel NATs (one site
 * per node, of its kind), the seven helpers in the observer namespace, and
 * one node-network agent process (real QUIC) per node, driven over JSON
 * lines. Faults use the kernel's mechanisms: SIGKILL and a new process with
 * the same key, the router's nftables NAT rules reloaded for a new kind (and
 * conntrack flushed), its WAN address changed, nftables drops for
 * partitions and loss (`numgen random`) on the node's edge namespace, and
 * `tc` for latency (netem where the kernel has it; a tbf rate limit where
 * it does not). Everything runs under the `nnchaos` namespace prefix and is
 * removed by `destroy` (also on SIGINT/SIGTERM).
 */
class NetnsLab implements ChaosLab {
  public static async createNetnsLab({
    seed,
    tamper = [],
    logger,
  }: {
    seed: number;
    tamper?: ReadonlyArray<string>;
    logger?: Logger;
  }): Promise<NetnsLab> {
    const can = await canRunNetns();
    if (!can.ok) throw new ErrorChaosLabUnavailable(can.reason!);
    return new NetnsLab(seed, new Set(tamper), logger);
  }

  public readonly lab = 'netns' as const;
  public readonly clock = new RealClock();
  public readonly nodes: Array<NetnsNode> = [];
  public readonly helpers: Array<NetnsNode> = [];
  public netlab?: ChaosNetlab;
  public onCrash?: (node: ChaosNode, text: string) => void;
  protected seed: number;
  protected tamper: ReadonlySet<string>;
  protected logger?: Logger;
  protected nextAddress = 0;
  protected nextPartition = 1;
  /** Per node: its edge's extra rules (partition allow-lists, loss), re-applied after NAT reloads. */
  protected edges = new Map<NetnsNode, { islands: Map<number, Set<string>>; loss: number }>();
  protected publicIps = new Map<NetnsNode, string>();
  protected destroying?: Promise<void>;
  /** Interrupted: clean up once (further signals wait for it), then exit. */
  protected onSignal = () => {
    this.destroying ??= this.destroy().finally(() => process.exit(130));
  };
  /** Last resort when the process exits without `destroy` (a crash): kill and delete synchronously. */
  protected onExit = () => {
    for (const n of [...this.nodes, ...this.helpers]) n.proc?.child.kill('SIGKILL');
    for (const ns of [...(this.netlab?.namespaceNames ?? [])].reverse()) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
        for (const pid of pids.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
      try {
        execFileSync('ip', ['netns', 'del', ns]);
      } catch {
        // gone already
      }
    }
  };

  protected constructor(seed: number, tamper: ReadonlySet<string>, logger?: Logger) {
    this.seed = seed;
    this.tamper = tamper;
    this.logger = logger;
  }

  public async start(kinds: ReadonlyArray<Kind>): Promise<void> {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.once('exit', this.onExit);
    this.logger?.info(`building ${kinds.length} sites in network namespaces`);
    const lab = await ChaosNetlab.createChaosNetlab(
      kinds.map((kind, i) => ({ name: `n${i}`, kind })),
    );
    this.netlab = lab;
    const helperHosts = [...lab.observerIps, ...lab.observerIpv6s];
    const dual = [lab.dualStackIps.ipv4, lab.dualStackIps.ipv6];
    const seedNodes: Record<string, Array<string>> = {};
    const addr = (host: string) => (host.includes(':') ? `[${host}]` : host);
    for (const [i, host] of helperHosts.entries()) {
      const sameFamily = helperHosts.filter((h) => h.includes(':') === host.includes(':'));
      const otherHost = sameFamily[(sameFamily.indexOf(host) + 1) % sameFamily.length];
      this.helpers.push(
        new NetnsNode(this, `seed${i}`, 'open', true, false, lab.observerNs, undefined, {
          name: `seed${i}`,
          keySeed: `${this.seed}/helper${i}`,
          listen: [{ host, port: helperPort }],
          natProbeServers: [{ host, port: probePort, otherPort: probePort + 1, otherHost }],
        }),
      );
    }
    this.helpers.push(
      new NetnsNode(this, 'relay', 'open', true, true, lab.observerNs, undefined, {
        name: 'relay',
        keySeed: `${this.seed}/helper6`,
        listen: dual.map((host) => ({ host, port: helperPort })),
        httpRelay: { listen: { host: lab.dualStackIps.ipv4, port: httpRelayPort } },
      }),
    );
    await Promise.all(this.helpers.map((h) => this.spawn(h)));
    for (const [i, h] of this.helpers.entries()) {
      const hosts = i < 6 ? [helperHosts[i]] : dual;
      seedNodes[h.nodeId] = hosts.map((host) => `${addr(host)}:${helperPort}`);
    }
    const relay = this.helpers[6];
    for (const [i, kind] of kinds.entries()) {
      const name = `n${i}`;
      const site = lab.sites.get(name)!;
      const listen =
        kind === 'ipv6-only'
          ? [{ host: '::' }]
          : kind === 'open'
            ? [{ host: '0.0.0.0' }, { host: '::' }]
            : [{ host: '0.0.0.0' }];
      const node = new NetnsNode(this, name, kind, false, false, site.hostNs, site, {
        name,
        keySeed: `${this.seed}/chaos-${name}`,
        listen,
        seedNodes,
        tamper: this.tamper.has(name),
        ...(kind === 'upnp' ? { portMapping: true } : {}),
        ...(site.proxy != null
          ? {
              httpRelay: {
                relays: [`${relay.nodeId}@ws://${lab.dualStackIps.ipv4}:${httpRelayPort}`],
                proxy: `http://${site.proxy.host}:${site.proxy.port}`,
              },
            }
          : {}),
      });
      this.nodes.push(node);
      this.edges.set(node, { islands: new Map(), loss: 0 });
      if (site.publicIp !== '') this.publicIps.set(node, site.publicIp);
    }
    await bounded(
      4,
      this.nodes.map((n) => () => this.spawn(n)),
    );
    await bounded(
      6,
      this.nodes.map((n) => () => this.bootstrap(n)),
    );
  }

  protected async spawn(node: NetnsNode): Promise<void> {
    const lab = this.netlab!;
    const proc = new ControlledProcess(
      lab.spawn(node.ns, [process.execPath, agentScript, JSON.stringify(node.config)]),
    );
    const ready = await proc
      .waitForEvent((e) => e.event === 'ready', 30_000)
      .catch((e) => {
        throw new ErrorChaosAgent(
          `Agent ${node.name} in ${node.ns} did not start: ${(e as Error).message}\n${proc.stderr.slice(-2000)}`,
        );
      });
    node.proc = proc;
    node.pid = Number(ready.pid);
    proc.child.once('exit', (code, signal) => {
      // Not killed by the conductor: the node crashed.
      if (node.proc !== proc || !node.up) return;
      node.up = false;
      node.incarnation++;
      node.proc = undefined;
      // 40 lines: an unhandled error prints its own stack, then its cause's; both name the culprit.
      const tail = proc.stderr.trim().split('\n').slice(-40).join('\n');
      this.onCrash?.(
        node,
        `exited by itself (${code ?? signal})${tail !== '' ? `; its stderr ends:\n${tail}` : ''}`,
      );
    });
    node.nodeId = String(ready.nodeId);
    node.up = true;
  }

  protected async bootstrap(node: NetnsNode): Promise<void> {
    await node.proc?.request('bootstrap', { timeoutMs: 3_000 }, 90_000).catch(() => {});
  }

  public async kill(node: NetnsNode): Promise<void> {
    const proc = node.proc;
    if (!node.up || proc == null) return;
    node.up = false;
    node.incarnation++;
    const exited = new Promise<void>((r) => {
      if (proc.child.exitCode != null || proc.child.signalCode != null) r();
      else proc.child.once('exit', () => r());
    });
    proc.child.kill('SIGKILL');
    await exited;
    node.proc = undefined;
  }

  public async restart(node: NetnsNode): Promise<void> {
    if (node.up) return;
    await this.spawn(node);
    if (!node.helper) await this.bootstrap(node);
  }

  /** The namespace whose interfaces face the internet for this node, and those interfaces. */
  protected edge(node: NetnsNode): { ns: string; wan: string; lan?: string } {
    const site = node.site;
    if (site == null) throw new ErrorChaosFault(`${node.name} is a helper: no edge of its own`);
    if (site.cgnatNs != null) return { ns: site.cgnatNs, wan: 'wan', lan: 'lan' };
    if (site.routerNs != null) return { ns: site.routerNs, wan: 'wan', lan: 'lan' };
    return { ns: site.hostNs, wan: 'eth0' };
  }

  protected exec(ns: string, argv: Array<string>, input?: string): Promise<string> {
    return this.netlab!.exec(ns, argv, input != null ? { input } : undefined);
  }

  public async setNat(node: NetnsNode, kind: ReloadableKind): Promise<void> {
    const site = node.site;
    if (site?.routerNs == null || site.cgnatNs != null || !isReloadable(node.kind)) {
      throw new ErrorChaosFault(`${node.name} (${node.kind}) has no single nftables NAT to reload`);
    }
    await this.loadNat(site.routerNs, kind, this.publicIps.get(node)!, site.hostIp);
    node.kind = kind;
  }

  protected async loadNat(ns: string, kind: ReloadableKind, wanIp: string, hostIp: string) {
    for (const table of ['ip nat', 'ip filter']) {
      await this.exec(ns, ['nft', 'delete', 'table', ...table.split(' ')]).catch(() => {});
    }
    await this.exec(ns, ['nft', '-f', '-'], natRules(kind, wanIp, hostIp));
    await this.exec(ns, ['conntrack', '-F']).catch(() => {});
  }

  public async changeAddress(node: NetnsNode): Promise<string> {
    const site = node.site;
    const old = this.publicIps.get(node);
    if (
      site?.routerNs == null ||
      old == null ||
      site.kind === 'upnp' ||
      site.kind === 'udp-blocked'
    ) {
      throw new ErrorChaosFault(`${node.name} (${node.kind}) has no NAT to renumber`);
    }
    const ip = `203.0.113.${160 + (this.nextAddress++ % 90)}`;
    const ns = site.cgnatNs ?? site.routerNs;
    await this.exec(ns, ['ip', 'addr', 'del', `${old}/24`, 'dev', 'wan']);
    await this.exec(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'wan']);
    this.publicIps.set(node, ip);
    if (site.cgnatNs == null && isReloadable(node.kind)) {
      // The full-cone and restricted rules name the WAN address.
      await this.loadNat(ns, node.kind as ReloadableKind, ip, site.hostIp);
    } else {
      await this.exec(ns, ['conntrack', '-F']).catch(() => {});
    }
    return ip;
  }

  /** The addresses by which the rest of the lab sees `node`. */
  protected addressesOf(node: NetnsNode): Array<string> {
    const out: Array<string> = [];
    const ip = this.publicIps.get(node);
    if (ip != null) out.push(ip);
    if (node.site?.hostIpv6 != null) out.push(node.site.hostIpv6);
    return out;
  }

  /**
   * Rewrites the drops a node's partitions and loss ask for. Behind a router
   * they go in the router (an `inet nnchaos` table on its WAN side); a public
   * host's go in the internet's bridge (a `bridge nnchaos` table), so the
   * network drops its packets and not its own kernel.
   */
  protected async applyEdge(node: NetnsNode): Promise<void> {
    if (node.site?.routerNs == null) return this.applyBridge();
    const state = this.edges.get(node)!;
    const { ns, wan } = this.edge(node);
    await this.exec(ns, ['nft', 'delete', 'table', 'inet', 'nnchaos']).catch(() => {});
    const rules: Array<string> = [];
    for (const allowed of state.islands.values()) {
      for (const [proto, addr] of [
        ['ipv4', 'ip'],
        ['ipv6', 'ip6'],
      ] as const) {
        const xs = [...allowed].filter((a) => a.includes(':') === (proto === 'ipv6'));
        const not = (dir: string) =>
          xs.length > 0 ? `${addr} ${dir} != { ${xs.join(', ')} } ` : '';
        // In: from anyone outside the island; out: to anyone outside it.
        rules.push(
          `iifname "${wan}" meta nfproto ${proto} ${not('saddr')}drop`,
          `oifname "${wan}" meta nfproto ${proto} ${not('daddr')}drop`,
        );
      }
    }
    if (state.loss > 0) {
      const drop = lossDrop(state.loss);
      rules.push(`iifname "${wan}" ${drop}`, `oifname "${wan}" ${drop}`);
    }
    if (rules.length === 0) return;
    const chain = (name: string, hook: string) =>
      ` chain ${name} {\n  type filter hook ${hook} priority -5;\n${rules.map((r) => `  ${r}`).join('\n')}\n }`;
    await this.exec(
      ns,
      ['nft', '-f', '-'],
      `table inet nnchaos {\n${chain('chaos_in', 'input')}\n${chain('chaos_out', 'output')}\n${chain('chaos_fwd', 'forward')}\n}\n`,
    );
  }

  /** The internet bridge's drops for every public host (see `applyEdge`). */
  protected async applyBridge(): Promise<void> {
    const ns = this.netlab!.internetNs;
    const rules: Array<string> = [];
    for (const node of this.nodes) {
      if (node.site?.routerNs != null) continue;
      const state = this.edges.get(node)!;
      const own = this.addressesOf(node);
      for (const [proto, addr] of [
        ['ipv4', 'ip'],
        ['ipv6', 'ip6'],
      ] as const) {
        const mine = own.filter((a) => a.includes(':') === (proto === 'ipv6'));
        if (mine.length === 0) continue;
        const set = (xs: Array<string>) => `{ ${xs.join(', ')} }`;
        for (const allowed of state.islands.values()) {
          const xs = [...allowed].filter((a) => a.includes(':') === (proto === 'ipv6'));
          const other = (dir: string) => (xs.length > 0 ? ` ${addr} ${dir} != ${set(xs)}` : '');
          rules.push(
            `${addr} saddr ${set(mine)}${other('daddr')} drop`,
            `${addr} daddr ${set(mine)}${other('saddr')} drop`,
          );
        }
        if (state.loss > 0) {
          rules.push(
            `${addr} saddr ${set(mine)} ${lossDrop(state.loss)}`,
            `${addr} daddr ${set(mine)} ${lossDrop(state.loss)}`,
          );
        }
      }
    }
    await this.exec(ns, ['nft', 'delete', 'table', 'bridge', 'nnchaos']).catch(() => {});
    if (rules.length === 0) return;
    await this.exec(
      ns,
      ['nft', '-f', '-'],
      `table bridge nnchaos {\n chain chaos_fwd {\n  type filter hook forward priority -5;\n${rules.map((r) => `  ${r}`).join('\n')}\n }\n}\n`,
    );
  }

  public async partition(nodes: ReadonlyArray<NetnsNode>): Promise<PartitionHandle> {
    const id = this.nextPartition++;
    const members = nodes.filter((n) => !n.helper);
    for (const n of members) {
      const allowed = new Set(members.filter((m) => m !== n).flatMap((m) => this.addressesOf(m)));
      this.edges.get(n)!.islands.set(id, allowed);
      await this.applyEdge(n);
    }
    return { id, nodes: members.map((n) => n.name) };
  }

  public async heal(p: PartitionHandle): Promise<void> {
    for (const n of this.nodes) {
      const e = this.edges.get(n)!;
      if (e.islands.delete(p.id)) await this.applyEdge(n);
    }
  }

  public async setLoss(node: NetnsNode | 'all', percent: number): Promise<void> {
    for (const n of node === 'all' ? this.nodes : [node]) {
      if (n.helper) continue;
      this.edges.get(n)!.loss = percent;
      await this.applyEdge(n);
    }
  }

  public async setLatency(node: NetnsNode, ms: number): Promise<string> {
    const { ns, wan, lan } = this.edge(node);
    const ifaces = lan != null ? [wan, lan] : [wan];
    if (ms <= 0) {
      for (const i of ifaces)
        await this.exec(ns, ['tc', 'qdisc', 'del', 'dev', i, 'root']).catch(() => {});
      return 'removed';
    }
    try {
      for (const i of ifaces) {
        await this.exec(ns, [
          'tc',
          'qdisc',
          'replace',
          'dev',
          i,
          'root',
          'netem',
          'delay',
          `${ms}ms`,
        ]);
      }
      return `tc netem delay ${ms}ms each way`;
    } catch {
      // No netem in this kernel: a slow link instead (a 2 Mbit/s token bucket queues bursts).
      for (const i of ifaces) {
        await this.exec(ns, [
          'tc',
          'qdisc',
          'replace',
          'dev',
          i,
          'root',
          'tbf',
          'rate',
          '2mbit',
          'burst',
          '32kbit',
          'latency',
          `${Math.max(50, ms)}ms`,
        ]);
      }
      return `no netem in this kernel: tc tbf 2 Mbit/s with ${Math.max(50, ms)} ms of queue instead`;
    }
  }

  public async memoryMiB(): Promise<number> {
    let total = 0;
    for (const n of [...this.helpers, ...this.nodes]) {
      if (!n.up || n.pid == null) continue;
      try {
        const statm = fs.readFileSync(`/proc/${n.pid}/statm`, 'utf8').split(' ');
        total += (Number(statm[1]) * 4096) / 2 ** 20;
      } catch {
        // exited meanwhile
      }
    }
    return total;
  }

  public async destroy(): Promise<void> {
    for (const n of [...this.nodes, ...this.helpers]) {
      n.up = false;
      n.proc?.child.kill('SIGKILL');
    }
    await this.netlab?.destroy();
    this.netlab = undefined;
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    process.removeListener('exit', this.onExit);
  }
}

/** nftables: drop `percent` of packets (all at 100). */
function lossDrop(percent: number): string {
  const n = Math.round(percent);
  return n >= 100 ? 'drop' : `numgen random mod 100 < ${n} drop`;
}

function isReloadable(kind: Kind): kind is ReloadableKind {
  return (
    kind === 'full-cone' ||
    kind === 'restricted' ||
    kind === 'port-restricted' ||
    kind === 'symmetric'
  );
}

/** Runs `tasks` with at most `n` at a time. */
async function bounded(n: number, tasks: Array<() => Promise<void>>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, tasks.length) }, async () => {
      while (next < tasks.length) await tasks[next++]();
    }),
  );
}

export default NetnsLab;
export { canRunNetns, agentScript };
