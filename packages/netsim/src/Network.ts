import type { Address, AddressFamily, Host, Port } from '@node-network/network-interface';
import type { NATConfig } from './types.js';
import { formatAddress } from '@node-network/network-interface';
import NAT from './NAT.js';
import Random from './Random.js';
import VirtualClock from './VirtualClock.js';
import VirtualDatagramPort from './VirtualDatagramPort.js';
import { ErrorNetsimAddressInUse, ErrorNetsimTopology } from './errors.js';

/** An address space: the internet, or the inside of one NAT. */
type Realm = {
  name: string;
  /** The NAT whose inside this is (undefined: the internet). */
  nat?: NATBox;
  hosts: Map<string, SimHost>;
  nats: Map<string, NATBox>;
};

type SimHost = {
  name: string;
  ipv4?: Host;
  ipv6?: Host;
  realm: Realm;
  ports: Map<string, VirtualDatagramPort>;
  nextEphemeral: number;
};

type NATBox = {
  name: string;
  nat: NAT;
  /** Where its public address lives. */
  outer: Realm;
  /** Its inside. */
  inner: Realm;
};

type LinkConditions = { latency: number; jitter: number; loss: number };

/**
 * One partition: traffic between the hosts of `a` and those of `b` (every
 * other host when `b` is undefined: `a` is an island) is dropped until it is
 * healed.
 */
type Partition = {
  readonly id: number;
  readonly a: ReadonlySet<string>;
  readonly b?: ReadonlySet<string>;
};

type TraceEntry = {
  time: number;
  from: string;
  to: string;
  bytes: number;
  outcome: 'delivered' | 'dropped';
  why?: string;
};

function addr(host: Host, port: number): Address {
  return { host, port: port as Port, family: host.includes(':') ? 'ipv6' : 'ipv4' };
}

/**
 * A deterministic in-process network. Hosts live in realms (the internet or
 * the inside of a NAT); IPv4 packets are routed realm by realm through the
 * NAT models, IPv6 packets go end to end (no NAT66). Every delivery is a
 * timer on the virtual clock with the link's latency, jitter and loss drawn
 * from one seeded source: the same seed gives the same run.
 */
class Network {
  public readonly clock: VirtualClock;
  public readonly internet: Realm;
  public conditions: LinkConditions;
  protected hostLatency = new Map<SimHost, number>();
  public trace?: Array<TraceEntry>;
  protected rng: Random;
  protected hostsByName = new Map<string, SimHost>();
  protected v6 = new Map<string, SimHost>();
  protected partitions: Array<Partition> = [];
  protected nextPartitionId = 1;
  protected hostLoss = new Map<SimHost, number>();
  public stats = { sent: 0, delivered: 0, dropped: 0 };

  public constructor({
    seed = 1,
    clock = new VirtualClock(),
    latency = 10,
    jitter = 0,
    loss = 0,
    trace = false,
  }: {
    seed?: number;
    clock?: VirtualClock;
    latency?: number;
    jitter?: number;
    loss?: number;
    trace?: boolean;
  } = {}) {
    this.clock = clock;
    this.rng = new Random(seed);
    this.conditions = { latency, jitter, loss };
    this.internet = { name: 'internet', hosts: new Map(), nats: new Map() };
    if (trace) this.trace = [];
  }

  /** Adds `ms` to every datagram `host` sends or receives (a far-away or slow host); 0 removes it. */
  public setHostLatency(host: SimHost, ms: number): void {
    if (ms > 0) this.hostLatency.set(host, ms);
    else this.hostLatency.delete(host);
  }

  /**
   * Drops this share (0 to 1) of every datagram `host` sends or receives, on
   * top of the network's loss; 0 removes it. The seeded source draws only
   * for hosts with loss set, so runs without it repeat as before.
   */
  public setHostLoss(host: SimHost, loss: number): void {
    if (loss > 0) this.hostLoss.set(host, Math.min(1, loss));
    else this.hostLoss.delete(host);
  }

  /** The extra loss and latency set on `host`. */
  public hostConditions(host: SimHost): { loss: number; latency: number } {
    return { loss: this.hostLoss.get(host) ?? 0, latency: this.hostLatency.get(host) ?? 0 };
  }

  /** Adds a host in `realm` (default: the internet). */
  public addHost({
    name,
    ipv4,
    ipv6,
    behind,
  }: {
    name: string;
    ipv4?: string;
    ipv6?: string;
    behind?: NATBox;
  }): SimHost {
    if (this.hostsByName.has(name)) throw new ErrorNetsimTopology(`Host ${name} exists`);
    if (ipv4 == null && ipv6 == null) throw new ErrorNetsimTopology(`Host ${name} has no address`);
    const realm = behind?.inner ?? this.internet;
    const host: SimHost = {
      name,
      ipv4: ipv4 as Host | undefined,
      ipv6: ipv6 as Host | undefined,
      realm,
      ports: new Map(),
      nextEphemeral: 40000,
    };
    if (ipv4 != null) {
      if (realm.hosts.has(ipv4) || realm.nats.has(ipv4)) {
        throw new ErrorNetsimTopology(`${ipv4} is taken in ${realm.name}`);
      }
      realm.hosts.set(ipv4, host);
    }
    if (ipv6 != null) {
      if (this.v6.has(ipv6)) throw new ErrorNetsimTopology(`${ipv6} is taken`);
      this.v6.set(ipv6, host);
    }
    this.hostsByName.set(name, host);
    return host;
  }

  /** Adds a NAT whose public IPv4 address is in `behind`'s inside (default: the internet). */
  public addNat({
    name,
    publicIpv4,
    config,
    behind,
  }: {
    name: string;
    publicIpv4: string;
    config: NATConfig;
    behind?: NATBox;
  }): NATBox {
    const outer = behind?.inner ?? this.internet;
    if (outer.hosts.has(publicIpv4) || outer.nats.has(publicIpv4)) {
      throw new ErrorNetsimTopology(`${publicIpv4} is taken in ${outer.name}`);
    }
    const box: NATBox = {
      name,
      nat: new NAT({ publicHost: publicIpv4 as Host, config, rng: this.rng.fork() }),
      outer,
      inner: { name: `${name} LAN`, hosts: new Map(), nats: new Map() },
    };
    box.inner.nat = box;
    outer.nats.set(publicIpv4, box);
    return box;
  }

  public host(name: string): SimHost {
    const h = this.hostsByName.get(name);
    if (h == null) throw new ErrorNetsimTopology(`No host ${name}`);
    return h;
  }

  /** The host that has `ip` (IPv6 anywhere, IPv4 on the internet). */
  public hostByAddress(ip: string): SimHost {
    const h = ip.includes(':') ? this.v6.get(ip) : this.internet.hosts.get(ip);
    if (h == null) throw new ErrorNetsimTopology(`No host has ${ip}`);
    return h;
  }

  /** Binds a datagram port on `host` (port 0: the next free ephemeral port). */
  public bind(host: SimHost, family: AddressFamily, port = 0): VirtualDatagramPort {
    const ip = family === 'ipv4' ? host.ipv4 : host.ipv6;
    if (ip == null) throw new ErrorNetsimTopology(`${host.name} has no ${family} address`);
    let p = port;
    if (p === 0) {
      do p = host.nextEphemeral++;
      while (host.ports.has(`${family}:${p}`));
    }
    const k = `${family}:${p}`;
    if (host.ports.has(k)) throw new ErrorNetsimAddressInUse(`${host.name} already has ${k}`);
    const vp = new VirtualDatagramPort(this, host, addr(ip, p));
    host.ports.set(k, vp);
    return vp;
  }

  public unbind(port: VirtualDatagramPort): void {
    port.host.ports.delete(`${port.localAddress.family}:${port.localAddress.port}`);
  }

  /**
   * Blocks all traffic between the hosts of `a` and those of `b` (with `b`
   * omitted: between `a` and every host not in `a`) until `heal`. Returns
   * the partition, to heal it alone.
   */
  public partition(a: Array<SimHost>, b?: Array<SimHost>): Partition {
    const p: Partition = {
      id: this.nextPartitionId++,
      a: new Set(a.map((h) => h.name)),
      ...(b != null ? { b: new Set(b.map((h) => h.name)) } : {}),
    };
    this.partitions.push(p);
    return p;
  }

  /** Heals `partition`, or every partition when none is named. */
  public heal(partition?: Partition): void {
    this.partitions = partition == null ? [] : this.partitions.filter((p) => p.id !== partition.id);
  }

  /** Whether a partition drops traffic between `a` and `b` now. */
  public isPartitioned(a: SimHost, b: SimHost): boolean {
    return this.blocked(a, b);
  }

  /**
   * Reconfigures a NAT (its firmware replaced, or a new kind of router on the
   * same line): a fresh table with `config`, every mapping gone.
   */
  public setNatConfig(box: NATBox, config: NATConfig): void {
    box.nat = new NAT({ publicHost: box.nat.publicHost, config, rng: this.rng.fork() });
  }

  /**
   * Gives a NAT a new public IPv4 address (the ISP renumbered the line):
   * every mapping is gone, and traffic to the old address finds nothing.
   */
  public renumberNat(box: NATBox, publicIpv4: string): void {
    const outer = box.outer;
    if (outer.hosts.has(publicIpv4) || outer.nats.has(publicIpv4)) {
      throw new ErrorNetsimTopology(`${publicIpv4} is taken in ${outer.name}`);
    }
    outer.nats.delete(box.nat.publicHost);
    box.nat = new NAT({
      publicHost: publicIpv4 as Host,
      config: box.nat.config,
      rng: this.rng.fork(),
    });
    outer.nats.set(publicIpv4, box);
  }

  /** Sends one datagram from `port`: routes it now, delivers it after the link delay. */
  public transmit(port: VirtualDatagramPort, data: Uint8Array, to: Address): void {
    this.stats.sent++;
    const result = this.route(port.host, port.localAddress, to);
    if ('why' in result) return this.drop(port.localAddress, to, data, result.why);
    const { target, from } = result;
    if (this.blocked(port.host, target.host))
      return this.drop(port.localAddress, to, data, 'partition');
    if (this.rng.chance(this.conditions.loss))
      return this.drop(port.localAddress, to, data, 'loss');
    if (
      this.rng.chance(this.hostLoss.get(port.host) ?? 0) ||
      this.rng.chance(this.hostLoss.get(target.host) ?? 0)
    ) {
      return this.drop(port.localAddress, to, data, 'host loss');
    }
    const delay =
      this.conditions.latency +
      (this.hostLatency.get(port.host) ?? 0) +
      (this.hostLatency.get(target.host) ?? 0) +
      (this.conditions.jitter > 0 ? this.rng.next() * this.conditions.jitter : 0);
    this.clock.setTimer(delay, () => {
      this.stats.delivered++;
      this.trace?.push({
        time: this.clock.now(),
        from: formatAddress(from),
        to: formatAddress(target.localAddress),
        bytes: data.byteLength,
        outcome: 'delivered',
      });
      target.deliver(data, from);
    });
  }

  protected drop(from: Address, to: Address, data: Uint8Array, why: string): void {
    this.stats.dropped++;
    this.trace?.push({
      time: this.clock.now(),
      from: formatAddress(from),
      to: formatAddress(to),
      bytes: data.byteLength,
      outcome: 'dropped',
      why,
    });
  }

  protected blocked(a: SimHost, b: SimHost): boolean {
    return this.partitions.some(({ a: x, b: y }) =>
      y == null
        ? x.has(a.name) !== x.has(b.name)
        : (x.has(a.name) && y.has(b.name)) || (y.has(a.name) && x.has(b.name)),
    );
  }

  /** Where a datagram ends up, and the source address it arrives from. */
  protected route(
    src: SimHost,
    source: Address,
    to: Address,
  ): { target: VirtualDatagramPort; from: Address } | { why: string } {
    if (to.family === 'ipv6') {
      // IPv6 is routed end to end, but a UDP-blocking firewall still applies.
      if (this.udpBlocked(src.realm)) return { why: 'udp blocked' };
      const dst = this.v6.get(to.host);
      if (dst == null) return { why: 'no route' };
      if (this.udpBlocked(dst.realm)) return { why: 'udp blocked' };
      const target = dst.ports.get(`ipv6:${to.port}`);
      return target == null ? { why: 'port unreachable' } : { target, from: source };
    }
    let realm = src.realm;
    let from = source;
    let dest = to;
    for (let hops = 0; hops < 16; hops++) {
      const host = realm.hosts.get(dest.host);
      if (host != null) {
        const target = host.ports.get(`ipv4:${dest.port}`);
        return target == null ? { why: 'port unreachable' } : { target, from };
      }
      const box = realm.nats.get(dest.host);
      if (box != null) {
        const internal = box.nat.inbound(this.clock.now(), dest.port, from);
        if (internal == null) return { why: `filtered by ${box.name}` };
        realm = box.inner;
        dest = internal;
        continue;
      }
      const nat = realm.nat;
      if (nat == null) return { why: 'no route' };
      if (dest.host === nat.nat.publicHost && !nat.nat.config.hairpinning) {
        return { why: `no hairpinning on ${nat.name}` };
      }
      const mapped = nat.nat.outbound(this.clock.now(), from, dest);
      if (mapped == null) return { why: `dropped by ${nat.name}` };
      from = mapped;
      realm = nat.outer;
    }
    return { why: 'routing loop' };
  }

  protected udpBlocked(realm: Realm): boolean {
    for (let r: Realm | undefined = realm; r?.nat != null; r = r.nat.outer) {
      if (r.nat.nat.config.blockUdp) return true;
    }
    return false;
  }
}

export default Network;
export type { Realm, SimHost, NATBox, LinkConditions, TraceEntry, Partition };
