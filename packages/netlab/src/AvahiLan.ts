import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { run, commandExists, deleteNamespaces, addNamespace, vethToBridge } from './exec.js';
import Lab, { canRunNetlab } from './Lab.js';
import { ErrorNetlabCommand, ErrorNetlabUnavailable } from './errors.js';

type AvahiLanFamily = 'ipv4' | 'ipv6';

type AvahiLanHost = {
  /** The name given at create (also avahi's host name: `<name>.local`). */
  name: string;
  /** The host's network namespace. */
  ns: string;
  /** Its interface on the LAN. */
  interfaceName: string;
  /** 198.18.100.<i+1>, when the LAN has IPv4. */
  ipv4?: string;
  /** 2001:db8:100::<i+1>, when the LAN has IPv6 (every host also has a link-local fe80:: address). */
  ipv6?: string;
  /** Whether avahi-daemon (and its private system D-Bus) runs on the host. */
  avahi: boolean;
  /** A process whose mount and network namespaces are the host's (the holder `exec` enters). */
  holderPid: number;
};

/** Whether avahi LANs can be built here; `reason` says why not. */
async function canRunAvahiLan(): Promise<{ ok: boolean; reason?: string }> {
  const can = await canRunNetlab();
  if (!can.ok) return can;
  for (const cmd of [
    'unshare',
    'nsenter',
    'dbus-daemon',
    'avahi-daemon',
    'avahi-browse',
    'avahi-publish',
  ]) {
    if (!(await commandExists(cmd))) {
      return {
        ok: false,
        reason: `${cmd} is not installed (apt-get install avahi-daemon avahi-utils dbus util-linux)`,
      };
    }
  }
  return { ok: true };
}

const prefixRoot = 'nnlab'; // as Lab's: `Lab.sweep()` removes the namespaces of dead lab processes

/**
 * A LAN in network namespaces: a bridge (its own namespace, multicast
 * snooping off) and hosts on it, each with IPv4 and/or IPv6 (global
 * 2001:db8:100::/64 and link-local, no DAD delay), where each host may run
 * its own avahi-daemon. Several avahi-daemons on one machine need a private
 * /run each (avahi's pid file and the system D-Bus socket live there), so
 * every host has a holder process started as `ip netns exec NS unshare
 * --mount --propagation private sh`: it mounts a tmpfs on /run, starts a
 * private `dbus-daemon --system` and `avahi-daemon --no-drop-root
 * --no-chroot` with a per-host config (host-name, allow-interfaces,
 * use-ipv4/ipv6), and stays. `exec`/`spawn` run commands in the holder's
 * mount and network namespaces (`nsenter -t PID -m -n`), so avahi-browse,
 * avahi-publish and Node children reach that host's avahi over its D-Bus.
 * `destroy()` kills every process in the LAN's namespaces and removes them.
 */
class AvahiLan {
  public static async create({
    hosts,
    families = ['ipv4', 'ipv6'],
    avahi = true,
  }: {
    /** Host names, or a count (h1, h2, ...); a host may opt out of avahi. */
    hosts: number | Array<string | { name: string; avahi?: boolean }>;
    families?: Array<AvahiLanFamily>;
    /** Run avahi-daemon on every host (default) unless the host says otherwise. */
    avahi?: boolean;
  }): Promise<AvahiLan> {
    const can = await canRunAvahiLan();
    if (!can.ok) throw new ErrorNetlabUnavailable(can.reason!);
    await Lab.sweep();
    const specs = (
      typeof hosts === 'number' ? Array.from({ length: hosts }, (_, i) => `h${i + 1}`) : hosts
    ).map((h) => (typeof h === 'string' ? { name: h, avahi } : { avahi, ...h }));
    const lan = new AvahiLan(
      `${prefixRoot}${process.pid}x${Math.floor(Math.random() * 1e6).toString(36)}`,
      families,
    );
    try {
      await lan.build(specs);
    } catch (e) {
      await lan.destroy();
      throw e;
    }
    return lan;
  }

  public readonly prefix: string;
  public readonly families: Array<AvahiLanFamily>;
  public readonly hosts = new Map<string, AvahiLanHost>();
  public readonly bridgeNs: string;
  protected namespaces: Array<string> = [];
  protected children = new Set<ChildProcess>();
  protected logs = new Map<string, Array<string>>();

  protected constructor(prefix: string, families: Array<AvahiLanFamily>) {
    this.prefix = prefix;
    this.families = families;
    this.bridgeNs = `${prefix}-lan`;
  }

  public host(name: string): AvahiLanHost {
    const h = this.hosts.get(name);
    if (h == null) throw new ErrorNetlabCommand(`No host ${name} in this LAN`);
    return h;
  }

  /** Runs `argv` in the host's mount and network namespaces (its avahi and D-Bus); resolves with stdout. */
  public exec(
    hostName: string,
    argv: Array<string>,
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<string> {
    const h = this.host(hostName);
    return run(['nsenter', '-t', String(h.holderPid), '-m', '-n', ...argv], opts);
  }

  /** Starts `argv` in the host's namespaces (stdio piped); `destroy()` kills it. */
  public spawn(hostName: string, argv: Array<string>): ChildProcess {
    const h = this.host(hostName);
    return this.track(
      spawn('nsenter', ['-t', String(h.holderPid), '-m', '-n', ...argv], {
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
  }

  /** What the host's dbus-daemon and avahi-daemon printed (the last 200 lines). */
  public log(hostName: string): Array<string> {
    return [...(this.logs.get(hostName) ?? [])];
  }

  public async destroy(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
    await deleteNamespaces(this.namespaces);
    this.namespaces = [];
    for (const h of this.hosts.values()) fs.rmSync(this.confFile(h.name), { force: true });
  }

  protected track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  protected confFile(name: string): string {
    return `/tmp/${this.prefix}-avahi-${name}.conf`;
  }

  protected async addNs(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    await addNamespace(ns);
    this.namespaces.push(ns);
    return ns;
  }

  protected async build(specs: Array<{ name: string; avahi: boolean }>): Promise<void> {
    await this.addNs('lan');
    await run(['ip', '-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    // Without an MLD/IGMP querier on the LAN, snooping could stop forwarding the mDNS groups.
    await run([
      'ip',
      '-n',
      this.bridgeNs,
      'link',
      'set',
      'br0',
      'type',
      'bridge',
      'mcast_snooping',
      '0',
    ]);
    await run(['ip', '-n', this.bridgeNs, 'link', 'set', 'br0', 'up']);
    await Promise.all(specs.map((s, i) => this.addHost(i, s)));
  }

  protected async addHost(i: number, spec: { name: string; avahi: boolean }): Promise<void> {
    const ns = await this.addNs(`a${i + 1}`);
    const ifName = 'eth0';
    // No duplicate address detection: IPv6 addresses (link-local too) are usable at once.
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0']);
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
    const peer = `p${i + 1}`;
    await vethToBridge(ns, ifName, this.bridgeNs, peer);
    const ipv4 = this.families.includes('ipv4') ? `198.18.100.${i + 1}` : undefined;
    const ipv6 = this.families.includes('ipv6')
      ? `2001:db8:100::${(i + 1).toString(16)}`
      : undefined;
    if (ipv4 != null) await run(['ip', '-n', ns, 'addr', 'add', `${ipv4}/24`, 'dev', ifName]);
    if (ipv6 != null) {
      await run(['ip', '-n', ns, 'addr', 'add', `${ipv6}/64`, 'dev', ifName, 'nodad']);
    } else {
      await run([
        'ip',
        'netns',
        'exec',
        ns,
        'sysctl',
        '-qw',
        `net.ipv6.conf.${ifName}.disable_ipv6=1`,
      ]);
    }
    await run(['ip', '-n', ns, 'link', 'set', ifName, 'multicast', 'on', 'up']);
    const conf = this.confFile(spec.name);
    fs.writeFileSync(
      conf,
      [
        '[server]',
        `host-name=${spec.name}`,
        'domain-name=local',
        `use-ipv4=${ipv4 != null ? 'yes' : 'no'}`,
        `use-ipv6=${ipv6 != null ? 'yes' : 'no'}`,
        `allow-interfaces=${ifName}`,
        'enable-dbus=yes',
        'ratelimit-interval-usec=1000000',
        'ratelimit-burst=1000',
        '[publish]',
        'publish-workstation=yes',
        'publish-hinfo=no',
        '[reflector]',
        '[rlimits]',
        '',
      ].join('\n'),
    );
    const script = [
      'set -e',
      'mount -t tmpfs -o mode=755 tmpfs /run',
      'mkdir -p /run/dbus /run/avahi-daemon',
      ...(spec.avahi
        ? [
            'dbus-daemon --system --nofork --nosyslog &',
            'n=0; while [ ! -S /run/dbus/system_bus_socket ] && [ $n -lt 100 ]; do sleep 0.02; n=$((n+1)); done',
            `avahi-daemon -f ${conf} --no-drop-root --no-chroot --no-rlimits &`,
          ]
        : []),
      'echo holder-ready',
      'wait',
    ].join('\n');
    const holder = this.track(
      spawn(
        'ip',
        ['netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    const log: Array<string> = [];
    this.logs.set(spec.name, log);
    const keep = (l: string) => {
      log.push(l);
      if (log.length > 200) log.shift();
    };
    readline.createInterface({ input: holder.stderr! }).on('line', keep);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ErrorNetlabCommand(`Host ${spec.name} did not start: ${log.join('\n')}`)),
        15_000,
      );
      let holderReady = false;
      let avahiReady = !spec.avahi;
      const check = () => {
        if (holderReady && avahiReady) {
          clearTimeout(timer);
          resolve();
        }
      };
      readline.createInterface({ input: holder.stdout! }).on('line', (l) => {
        if (l === 'holder-ready') holderReady = true;
        check();
      });
      readline.createInterface({ input: holder.stderr! }).on('line', (l) => {
        // avahi has probed its host name and answers for it.
        if (l.startsWith('Server startup complete')) avahiReady = true;
        check();
      });
      holder.once('exit', (code) => {
        clearTimeout(timer);
        reject(
          new ErrorNetlabCommand(`Host ${spec.name}'s holder exited (${code}): ${log.join('\n')}`),
        );
      });
    });
    await ready;
    this.hosts.set(spec.name, {
      name: spec.name,
      ns,
      interfaceName: ifName,
      ipv4,
      ipv6,
      avahi: spec.avahi,
      holderPid: holder.pid!,
    });
  }
}

export default AvahiLan;
export { canRunAvahiLan };
export type { AvahiLanHost, AvahiLanFamily };
