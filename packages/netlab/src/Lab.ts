import type { ChildProcess } from 'node:child_process';
import type { LabNATKind } from './natRules.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { run, commandExists, deleteNamespaces, addNamespace, vethToBridge } from './exec.js';
import { natRules } from './natRules.js';
import { ErrorNetlabCommand, ErrorNetlabUnavailable } from './errors.js';

type LabSiteKind = 'open' | LabNATKind | 'double-nat' | 'udp-blocked' | 'ipv6-only' | 'upnp';

type LabSite = {
  name: string;
  kind: LabSiteKind;
  /** Namespace of the host (behind the router, or on the internet for `open`). */
  hostNs: string;
  hostIp: string;
  /** The router's namespace and public address (undefined for `open`). */
  routerNs?: string;
  /** The CGNAT router in front of `routerNs` (double-nat only). */
  cgnatNs?: string;
  /** Public IPv4 (empty for ipv6-only). */
  publicIp: string;
  /** The host's IPv6 address, where it has one. */
  hostIpv6?: string;
  /** The UPnP IGD / NAT-PMP gateway (upnp only). */
  gateway?: string;
  /** The HTTP CONNECT proxy the host may use (udp-blocked only). */
  proxy?: { host: string; port: number };
};

const prefixRoot = 'nnlab';

/**
 * The lab internet's addressing. By default documentation ranges
 * (203.0.113.0/24, 2001:db8::/64). Stacks that refuse to treat reserved
 * ranges as public (js-libp2p's and hyperdht's address filters do) get a
 * lab where the internet has global-unicast addresses instead: they are
 * assigned only inside the lab's namespaces and routed nowhere else, as the
 * upnp routers' 7.7.7.0/24 already is. LANs stay 198.18.0.0/15 and the
 * CGNAT layer 100.64.0.0/10 either way.
 */
type LabInternet = {
  /** The internet's IPv4 /24, as its first three octets ('203.0.113'). */
  ipv4: string;
  /** The internet's IPv6 /64 prefix, ending in '::' ('2001:db8::'). */
  ipv6: string;
  /**
   * More IPv4 /24s (first three octets) in which the observer also holds
   * `.10`, reached on-link from every namespace on the internet: public
   * peers in other networks (e.g. other /8s, for stacks that want
   * confirmations from several network segments). Default none.
   */
  moreIpv4: Array<string>;
};

const defaultInternet: LabInternet = { ipv4: '203.0.113', ipv6: '2001:db8::', moreIpv4: [] };

/** Whether this process can build labs; `reason` says why not. */
async function canRunNetlab(): Promise<{ ok: boolean; reason?: string }> {
  if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces need Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root' };
  for (const cmd of ['ip', 'nft']) {
    if (!(await commandExists(cmd)))
      return { ok: false, reason: `${cmd} is not installed (apt-get install iproute2 nftables)` };
  }
  return { ok: true };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A real-kernel lab: an "internet" namespace with a bridge, an observer host
 * with three public addresses (203.0.113.10-12), and one site per requested
 * kind: a router namespace doing that kind of NAT with nftables and a host
 * behind it (198.18.<i>.2), or a public host for `open`. Only documentation
 * and benchmark ranges, only inside namespaces this lab made; `destroy()`
 * removes everything, and `create()` first sweeps labs whose process died.
 */
class Lab {
  public static async create({
    sites,
    prefix = prefixRoot,
    internet,
  }: {
    sites: Array<{ name: string; kind: LabSiteKind }>;
    /** Namespace name root (lowercase letters), so concurrent labs of different users are told apart. */
    prefix?: string;
    internet?: Partial<LabInternet>;
  }): Promise<Lab> {
    const can = await canRunNetlab();
    if (!can.ok) throw new ErrorNetlabUnavailable(can.reason!);
    if (!/^[a-z]{1,8}$/.test(prefix)) {
      throw new ErrorNetlabCommand(`Lab prefix must be 1-8 lowercase letters: ${prefix}`);
    }
    await Lab.sweep(prefix);
    const lab = new Lab(`${prefix}${process.pid}x${Math.floor(Math.random() * 1e6).toString(36)}`, {
      ...defaultInternet,
      ...internet,
    });
    try {
      await lab.build(sites);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  /** Deletes namespaces (named from `root`) left by lab processes that no longer run. */
  public static async sweep(root: string = prefixRoot): Promise<Array<string>> {
    const out = await run(['ip', 'netns', 'list']);
    const removed: Array<string> = [];
    for (const line of out.split('\n')) {
      const ns = line.split(' ')[0];
      const m = new RegExp(`^${root}(\\d+)x`).exec(ns);
      if (m == null || pidAlive(Number(m[1]))) continue;
      await run(['ip', 'netns', 'del', ns]).catch(() => {});
      removed.push(ns);
    }
    return removed;
  }

  public readonly prefix: string;
  public readonly sites = new Map<string, LabSite>();
  public readonly observerNs: string;
  public readonly internet: LabInternet;
  /** The observer's IPv4 addresses (203.0.113.10-12 by default). */
  public readonly observerIps: Array<string>;
  /** The observer's IPv6 addresses (2001:db8::10-12 by default). */
  public readonly observerIpv6s: Array<string>;
  /** A dual-stack address pair in the observer namespace (a relay between IPv4 and IPv6 hosts). */
  public readonly dualStackIps: { ipv4: string; ipv6: string };
  /** The observer's `.10` in each of `internet.moreIpv4` (none by default). */
  public readonly moreObserverIps: Array<string>;
  /**
   * miniupnpd 2.3.1 refuses to map when its WAN address is in a reserved
   * range (documentation ranges included), so `upnp` routers get one from
   * 7.7.7.0/24, assigned only to interfaces inside this lab's namespaces
   * (the observer has 7.7.7.10 on the same lab bridge); nothing routes it
   * anywhere else.
   */
  public readonly upnpObserverIp = '7.7.7.10';
  protected namespaces: Array<string> = [];
  protected children = new Set<ChildProcess>();
  protected inetNs: string;

  protected constructor(prefix: string, internet: LabInternet = defaultInternet) {
    this.prefix = prefix;
    this.internet = internet;
    const { ipv4, ipv6 } = internet;
    this.observerIps = [`${ipv4}.10`, `${ipv4}.11`, `${ipv4}.12`];
    this.observerIpv6s = [`${ipv6}10`, `${ipv6}11`, `${ipv6}12`];
    this.dualStackIps = { ipv4: `${ipv4}.13`, ipv6: `${ipv6}13` };
    this.moreObserverIps = internet.moreIpv4.map((net) => `${net}.10`);
    this.inetNs = `${prefix}-inet`;
    this.observerNs = `${prefix}-obs`;
  }

  /** Runs `argv` inside namespace `ns` and returns its stdout. */
  public exec(
    ns: string,
    argv: Array<string>,
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<string> {
    return run(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  /** Starts `argv` inside namespace `ns`; it is killed by `destroy()`. */
  public spawn(ns: string, argv: Array<string>): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * Drops `percent` of the packets the site's router forwards, both ways
   * (nftables `numgen random`; this kernel has no netem). 0 removes it.
   */
  public async setLoss(siteName: string, percent: number): Promise<void> {
    const site = this.sites.get(siteName);
    const ns = site?.routerNs;
    if (ns == null)
      throw new ErrorNetlabCommand(`Site ${siteName} has no router to drop packets on`);
    await this.exec(ns, ['nft', 'delete', 'table', 'inet', 'loss']).catch(() => {});
    if (percent <= 0) return;
    const n = Math.round(percent);
    const rule = n >= 100 ? 'drop' : `numgen random mod 100 < ${n} drop`;
    await this.exec(ns, ['nft', '-f', '-'], {
      input: `table inet loss {
 chain forward {
  type filter hook forward priority -10;
  ${rule}
 }
}
`,
    });
  }

  /**
   * Forgets every connection the site's routers track (a NAT reboot: all
   * mappings go). Needs the `conntrack` tool.
   */
  public async flushConntrack(siteName: string): Promise<void> {
    const site = this.sites.get(siteName);
    for (const ns of [site?.routerNs, site?.cgnatNs]) {
      if (ns != null) await this.exec(ns, ['conntrack', '-F']).catch(() => {});
    }
  }

  public async destroy(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
    await deleteNamespaces(this.namespaces);
    this.namespaces = [];
    await run(['sh', '-c', `rm -f /tmp/${this.prefix}-*.conf /tmp/${this.prefix}-*.pid`]).catch(
      () => {},
    );
  }

  protected async addNs(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    await addNamespace(ns);
    this.namespaces.push(ns);
    return ns;
  }

  /** A veth pair from `a` (named `aIf`) to the internet bridge. */
  protected async plugIntoInternet(ns: string, ifName: string, peerName: string): Promise<void> {
    await vethToBridge(ns, ifName, this.inetNs, peerName);
    await this.exec(ns, ['ip', 'link', 'set', ifName, 'up']);
    // The upnp routers' 7.7.7.0/24 WANs share the bridge: everyone on it reaches them on-link (a
    // high metric, so a upnp router's own connected route for its address wins).
    await this.exec(ns, ['ip', 'route', 'add', '7.7.7.0/24', 'dev', ifName, 'metric', '500']);
    for (const net of this.internet.moreIpv4) {
      await this.exec(ns, ['ip', 'route', 'add', `${net}.0/24`, 'dev', ifName, 'metric', '500']);
    }
  }

  /** A veth pair between two namespaces with an address on each end. */
  protected async link(
    aNs: string,
    aIf: string,
    aCidr: string,
    bNs: string,
    bIf: string,
    bCidr: string,
  ): Promise<void> {
    await run([
      'ip',
      'link',
      'add',
      aIf,
      'netns',
      aNs,
      'type',
      'veth',
      'peer',
      'name',
      bIf,
      'netns',
      bNs,
    ]);
    await this.exec(aNs, ['ip', 'addr', 'add', aCidr, 'dev', aIf]);
    await this.exec(bNs, ['ip', 'addr', 'add', bCidr, 'dev', bIf]);
    await this.exec(aNs, ['ip', 'link', 'set', aIf, 'up']);
    await this.exec(bNs, ['ip', 'link', 'set', bIf, 'up']);
  }

  /**
   * Starts a daemon in `ns` with the config `lines` (written to
   * /tmp/<prefix>-<name>.conf, removed by `destroy`), discards its output,
   * and waits until it accepts TCP at `ready` (as seen from `ready.ns`).
   */
  protected async startDaemon(
    ns: string,
    name: string,
    lines: string,
    argv: (confFile: string) => Array<string>,
    ready: { ns: string; host: string; port: number },
  ): Promise<void> {
    const file = `/tmp/${this.prefix}-${name}.conf`;
    fs.writeFileSync(file, `${lines}\n`);
    const daemon = this.spawn(ns, argv(file));
    daemon.stdout?.resume();
    daemon.stderr?.resume();
    await this.waitForTcp(ready.ns, ready.host, ready.port);
  }

  /** Waits until `host:port` accepts TCP from inside `ns` (a daemon has started). */
  protected async waitForTcp(
    ns: string,
    host: string,
    port: number,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const script = `require('net').connect(${port}, '${host}').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
    for (;;) {
      const ok = await this.exec(ns, [process.execPath, '-e', script], { timeoutMs: 2000 }).then(
        () => true,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline)
        throw new ErrorNetlabCommand(`${host}:${port} did not accept TCP within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * A router namespace on the internet bridge (`wan` with `wanCidr`) and a
   * host namespace behind it (198.18.i.2, default route via 198.18.i.1),
   * forwarding on. The caller adds the router's NAT or firewall.
   */
  protected async routedSite(
    i: number,
    wanCidr: string,
  ): Promise<{ routerNs: string; hostNs: string; hostIp: string; lanIp: string }> {
    const routerNs = await this.addNs(`r${i}`);
    const hostNs = await this.addNs(`h${i}`);
    const hostIp = `198.18.${i}.2`;
    const lanIp = `198.18.${i}.1`;
    await this.plugIntoInternet(routerNs, 'wan', `r${i}`);
    await this.exec(routerNs, ['ip', 'addr', 'add', wanCidr, 'dev', 'wan']);
    await this.link(routerNs, 'lan', `${lanIp}/24`, hostNs, 'eth0', `${hostIp}/24`);
    await this.exec(hostNs, ['ip', 'route', 'add', 'default', 'via', lanIp]);
    await this.exec(routerNs, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    return { routerNs, hostNs, hostIp, lanIp };
  }

  /** A host directly on the internet bridge with IPv6 <internet.ipv6><0x100+i> (2001:db8::101...), and `ipv4` when given. */
  protected async publicSite(
    i: number,
    name: string,
    kind: LabSiteKind,
    ipv4: string | undefined,
  ): Promise<void> {
    const hostNs = await this.addNs(`h${i}`);
    await this.plugIntoInternet(hostNs, 'eth0', `h${i}`);
    if (ipv4 != null) await this.exec(hostNs, ['ip', 'addr', 'add', `${ipv4}/24`, 'dev', 'eth0']);
    const hostIpv6 = `${this.internet.ipv6}${(i + 0x100).toString(16)}`;
    await this.exec(hostNs, ['ip', 'addr', 'add', `${hostIpv6}/64`, 'dev', 'eth0', 'nodad']);
    this.sites.set(name, {
      name,
      kind,
      hostNs,
      hostIp: ipv4 ?? hostIpv6,
      publicIp: ipv4 ?? '',
      hostIpv6,
    });
  }

  protected async build(sites: Array<{ name: string; kind: LabSiteKind }>): Promise<void> {
    await this.addNs('inet');
    await this.exec(this.inetNs, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await this.exec(this.inetNs, ['ip', 'link', 'set', 'br0', 'up']);
    await this.addNs('obs');
    await this.plugIntoInternet(this.observerNs, 'eth0', 'obs');
    for (const ip of this.observerIps) {
      await this.exec(this.observerNs, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    }
    await this.exec(this.observerNs, [
      'ip',
      'addr',
      'add',
      `${this.upnpObserverIp}/24`,
      'dev',
      'eth0',
    ]);
    for (const ip of this.observerIpv6s) {
      await this.exec(this.observerNs, ['ip', 'addr', 'add', `${ip}/64`, 'dev', 'eth0', 'nodad']);
    }
    for (const ip of this.moreObserverIps) {
      await this.exec(this.observerNs, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    }
    await this.exec(this.observerNs, [
      'ip',
      'addr',
      'add',
      `${this.dualStackIps.ipv4}/24`,
      'dev',
      'eth0',
    ]);
    await this.exec(this.observerNs, [
      'ip',
      'addr',
      'add',
      `${this.dualStackIps.ipv6}/64`,
      'dev',
      'eth0',
      'nodad',
    ]);
    let i = 0;
    for (const s of sites) {
      i++;
      const publicIp = `${this.internet.ipv4}.${i + 100}`;
      if (s.kind === 'ipv6-only' || s.kind === 'open') {
        // Public hosts on the internet bridge: `open` is dual-stack (as in netsim), `ipv6-only` has no IPv4.
        await this.publicSite(i, s.name, s.kind, s.kind === 'open' ? publicIp : undefined);
        continue;
      }
      if (s.kind === 'double-nat') {
        const cgnatNs = await this.addNs(`c${i}`);
        const routerNs = await this.addNs(`r${i}`);
        const hostNs = await this.addNs(`h${i}`);
        const hostIp = `198.18.${i}.2`;
        await this.plugIntoInternet(cgnatNs, 'wan', `c${i}`);
        await this.exec(cgnatNs, ['ip', 'addr', 'add', `${publicIp}/24`, 'dev', 'wan']);
        await this.link(cgnatNs, 'lan', `100.64.${i}.1/24`, routerNs, 'wan', `100.64.${i}.2/24`);
        await this.exec(routerNs, ['ip', 'route', 'add', 'default', 'via', `100.64.${i}.1`]);
        await this.link(routerNs, 'lan', `198.18.${i}.1/24`, hostNs, 'eth0', `${hostIp}/24`);
        await this.exec(hostNs, ['ip', 'route', 'add', 'default', 'via', `198.18.${i}.1`]);
        for (const ns of [cgnatNs, routerNs]) {
          await this.exec(ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
          await this.exec(ns, ['nft', '-f', '-'], { input: natRules('port-restricted', '', '') });
        }
        this.sites.set(s.name, {
          name: s.name,
          kind: s.kind,
          hostNs,
          hostIp,
          routerNs,
          cgnatNs,
          publicIp,
        });
        continue;
      }
      if (s.kind === 'upnp') {
        const wanIp = `7.7.7.${i}`;
        const { routerNs, hostNs, hostIp, lanIp } = await this.routedSite(i, `${wanIp}/24`);
        // The observer's 203.0.113.x addresses are on the same bridge: reach them on-link.
        await this.exec(routerNs, ['ip', 'route', 'add', 'default', 'dev', 'wan']);
        await this.exec(routerNs, ['ip', 'link', 'set', 'lan', 'multicast', 'on']);
        // miniupnpd programs legacy iptables: the whole NAT of this router lives there.
        const ipt = (...a: Array<string>) => this.exec(routerNs, ['iptables-legacy', ...a]);
        await ipt('-t', 'nat', '-N', 'MINIUPNPD');
        await ipt('-t', 'nat', '-A', 'PREROUTING', '-i', 'wan', '-j', 'MINIUPNPD');
        await ipt('-t', 'nat', '-N', 'MINIUPNPD-POSTROUTING');
        await ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MINIUPNPD-POSTROUTING');
        await ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE');
        // The home router's firewall (see natRules' inputFirewall): nothing new from the WAN to the
        // router itself, so unsolicited punches leave no conntrack entry that would move our mapping.
        await ipt(
          '-t',
          'filter',
          '-A',
          'INPUT',
          '-i',
          'wan',
          '-m',
          'conntrack',
          '--ctstate',
          'NEW',
          '-j',
          'DROP',
        );
        await ipt('-t', 'filter', '-N', 'MINIUPNPD');
        await ipt(
          '-t',
          'filter',
          '-A',
          'FORWARD',
          '-i',
          'wan',
          '!',
          '-o',
          'wan',
          '-j',
          'MINIUPNPD',
        );
        const conf = [
          'ext_ifname=wan',
          'listening_ip=lan',
          'http_port=5000',
          'enable_natpmp=yes',
          'enable_upnp=yes',
          'secure_mode=yes',
          'system_uptime=yes',
          `uuid=3e6f1c2a-0d4b-4c55-9a1e-${(0x100000000000 + i).toString(16).slice(-12)}`,
          `allow 1024-65535 198.18.${i}.0/24 1024-65535`,
          'deny 0-65535 0.0.0.0/0 0-65535',
        ].join('\n');
        // One pid file per daemon: with the default one a second router's daemon refuses to start.
        await this.startDaemon(
          routerNs,
          `upnp${i}`,
          conf,
          (file) => ['miniupnpd', '-d', '-f', file, '-P', `/tmp/${this.prefix}-upnp${i}.pid`],
          { ns: hostNs, host: lanIp, port: 5000 },
        );
        this.sites.set(s.name, {
          name: s.name,
          kind: s.kind,
          hostNs,
          hostIp,
          routerNs,
          publicIp: wanIp,
          gateway: lanIp,
        });
        continue;
      }
      if (s.kind === 'udp-blocked') {
        const {
          routerNs,
          hostNs,
          hostIp,
          lanIp: fwLan,
        } = await this.routedSite(i, `${publicIp}/24`);
        // Nothing is forwarded from the LAN: no UDP, no direct TCP. Only the proxy on the firewall itself.
        await this.exec(routerNs, ['nft', '-f', '-'], {
          input: `table inet fw {
 chain forward {
  type filter hook forward priority 0;
  policy drop;
 }
}
`,
        });
        const proxyPort = 8888;
        const conf = [
          `Port ${proxyPort}`,
          `Listen ${fwLan}`,
          `Allow 198.18.${i}.0/24`,
          'User nobody',
          'Group nogroup',
          'Timeout 30',
          'MaxClients 50',
        ].join('\n');
        await this.startDaemon(
          routerNs,
          `tp${i}`,
          conf,
          (file) => ['tinyproxy', '-d', '-c', file],
          {
            ns: hostNs,
            host: fwLan,
            port: proxyPort,
          },
        );
        this.sites.set(s.name, {
          name: s.name,
          kind: s.kind,
          hostNs,
          hostIp,
          routerNs,
          publicIp,
          proxy: { host: fwLan, port: proxyPort },
        });
        continue;
      }
      const { routerNs, hostNs, hostIp } = await this.routedSite(i, `${publicIp}/24`);
      await this.exec(routerNs, ['nft', '-f', '-'], { input: natRules(s.kind, publicIp, hostIp) });
      this.sites.set(s.name, { name: s.name, kind: s.kind, hostNs, hostIp, routerNs, publicIp });
    }
  }
}

export default Lab;
export { canRunNetlab };
export type { LabSite, LabSiteKind, LabInternet };
