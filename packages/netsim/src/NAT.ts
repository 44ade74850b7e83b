import type { Address, Host, Port } from '@node-network/network-interface';
import type { NATConfig } from './types.js';
import type Random from './Random.js';

type Mapping = {
  internal: Address;
  externalPort: number;
  /** Remote hosts (and host:ports) this mapping has sent to: what the filter admits. */
  contactedHosts: Set<string>;
  contactedEndpoints: Set<string>;
  lastActive: number;
  key: string;
};

const minPort = 1024;
const maxPort = 65535;

function endpointKey(a: Address): string {
  return `${a.host}|${a.port}`;
}

/**
 * One NAT's translation table as a pure state machine: `outbound` maps an
 * internal source to an external one (creating or refreshing a mapping);
 * `inbound` maps a packet to the public address back to an internal
 * destination, or refuses it. Time comes in as `now`; randomness from the
 * injected seeded source. Behaviour follows RFC 4787's vocabulary.
 */
class NAT {
  public readonly publicHost: Host;
  public readonly config: NATConfig;
  protected rng: Random;
  protected byKey = new Map<string, Mapping>();
  protected byPort = new Map<number, Mapping>();
  protected nextSequential = 20000;

  public constructor({
    publicHost,
    config,
    rng,
  }: {
    publicHost: Host;
    config: NATConfig;
    rng: Random;
  }) {
    this.publicHost = publicHost;
    this.config = config;
    this.rng = rng;
  }

  /** The external source for `internal` sending to `remote`, or undefined when dropped. */
  public outbound(now: number, internal: Address, remote: Address): Address | undefined {
    if (this.config.blockUdp) return undefined;
    const key = this.mappingKey(internal, remote);
    let m = this.live(now, this.byKey.get(key));
    if (m == null) {
      const port = this.allocate(now, internal.port);
      if (port == null) return undefined;
      m = {
        internal,
        externalPort: port,
        contactedHosts: new Set(),
        contactedEndpoints: new Set(),
        lastActive: now,
        key,
      };
      this.byKey.set(key, m);
      this.byPort.set(port, m);
    }
    m.lastActive = now;
    m.contactedHosts.add(remote.host);
    m.contactedEndpoints.add(endpointKey(remote));
    return { host: this.publicHost, port: m.externalPort as Port, family: 'ipv4' };
  }

  /** The internal destination for a packet from `remote` to our `externalPort`, or undefined. */
  public inbound(now: number, externalPort: number, remote: Address): Address | undefined {
    if (this.config.blockUdp) return undefined;
    const m = this.live(now, this.byPort.get(externalPort));
    if (m == null) return undefined;
    switch (this.config.filtering) {
      case 'address-dependent':
        if (!m.contactedHosts.has(remote.host)) return undefined;
        break;
      case 'address-and-port-dependent':
        if (!m.contactedEndpoints.has(endpointKey(remote))) return undefined;
        break;
      default:
        break;
    }
    if (this.config.refreshOnInbound) m.lastActive = now;
    return m.internal;
  }

  /** Live mappings, for inspection and tests. */
  public mappings(now: number): Array<{ internal: Address; externalPort: number }> {
    return [...this.byKey.values()]
      .filter((m) => this.live(now, m) != null)
      .map((m) => ({ internal: m.internal, externalPort: m.externalPort }));
  }

  /** Forgets every mapping (a NAT reboot). */
  public flush(): void {
    this.byKey.clear();
    this.byPort.clear();
  }

  protected mappingKey(internal: Address, remote: Address): string {
    const i = endpointKey(internal);
    switch (this.config.mapping) {
      case 'endpoint-independent':
        return i;
      case 'address-dependent':
        return `${i}>${remote.host}`;
      default:
        return `${i}>${endpointKey(remote)}`;
    }
  }

  protected live(now: number, m: Mapping | undefined): Mapping | undefined {
    if (m == null) return undefined;
    if (now - m.lastActive > this.config.mappingLifetime) {
      this.byKey.delete(m.key);
      if (this.byPort.get(m.externalPort) === m) this.byPort.delete(m.externalPort);
      return undefined;
    }
    return m;
  }

  protected free(now: number, port: number): boolean {
    return this.live(now, this.byPort.get(port)) == null;
  }

  protected allocate(now: number, wanted: number): number | undefined {
    const span = maxPort - minPort + 1;
    if (this.config.allocation === 'preserve' && wanted >= minPort && this.free(now, wanted)) {
      return wanted;
    }
    if (this.config.allocation === 'random') {
      for (let i = 0; i < 64; i++) {
        const p = this.rng.int(minPort, maxPort);
        if (this.free(now, p)) return p;
      }
    }
    // Sequential (and the fallback of the others): the next free port.
    for (let i = 0; i < span; i++) {
      const p = minPort + ((this.nextSequential - minPort + i) % span);
      if (this.free(now, p)) {
        this.nextSequential = p + 1;
        return p;
      }
    }
    return undefined;
  }
}

export default NAT;
