import type { NATConfig, NATKind } from './types.js';
import type Network from './Network.js';
import type { NATBox, SimHost } from './Network.js';

const base = {
  mappingLifetime: 30_000,
  refreshOnInbound: false,
  hairpinning: false,
  blockUdp: false,
} as const;

/** NAT models matching the netns lab's kinds (Linux conntrack defaults: 30 s UDP mappings). */
/** The NAT kinds of the connectivity matrix, named as in the netns lab. */
const natKinds = [
  'open',
  'full-cone',
  'restricted',
  'port-restricted',
  'symmetric',
  'double-nat',
  'udp-blocked',
  'ipv6-only',
  // Port-restricted with a UPnP/NAT-PMP gateway (the mapping service arrives with the upnp package).
  'upnp',
] as const;

const natConfigs: Record<
  'full-cone' | 'restricted' | 'port-restricted' | 'symmetric' | 'udp-blocked',
  NATConfig
> = {
  'full-cone': {
    ...base,
    mapping: 'endpoint-independent',
    filtering: 'endpoint-independent',
    allocation: 'preserve',
  },
  restricted: {
    ...base,
    mapping: 'endpoint-independent',
    filtering: 'address-dependent',
    allocation: 'preserve',
  },
  'port-restricted': {
    ...base,
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    allocation: 'preserve',
  },
  symmetric: {
    ...base,
    mapping: 'address-and-port-dependent',
    filtering: 'address-and-port-dependent',
    allocation: 'random',
  },
  'udp-blocked': {
    ...base,
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    allocation: 'preserve',
    blockUdp: true,
  },
};

let siteCounter = 0;

/**
 * The public IPv4 address of site `index`: 203.0.113.1-254 for the first
 * 254 sites, then the benchmark range 198.19.0.0/16 (virtual: nothing here
 * leaves the process).
 */
function publicIpv4(index: number): string {
  if (index < 254) return `203.0.113.${index + 1}`;
  const i = index - 254;
  return `198.19.${Math.floor(i / 254) % 256}.${(i % 254) + 1}`;
}

/**
 * Adds one host behind a NAT of `kind` (with the NAT, or two for
 * `double-nat`), numbered by `index`: public addresses from `publicIpv4`,
 * each LAN is its own realm (the host is 198.18.0.2 in it, a CGNAT's inside
 * is 100.64.0.0/10), IPv6 2001:db8:<index>::2. Returns the host and its NAT
 * boxes (outermost first).
 */
function addSite(
  network: Network,
  kind: NATKind,
  { name, index = ++siteCounter }: { name?: string; index?: number } = {},
): { host: SimHost; nats: Array<NATBox> } {
  const hostName = name ?? `${kind}-${index}`;
  const ipv6 = `2001:db8:${index.toString(16)}::2`;
  switch (kind) {
    case 'open':
      return { host: network.addHost({ name: hostName, ipv4: publicIpv4(index), ipv6 }), nats: [] };
    case 'ipv6-only':
      return { host: network.addHost({ name: hostName, ipv6 }), nats: [] };
    case 'double-nat': {
      const cgnat = network.addNat({
        name: `${hostName}-cgnat`,
        publicIpv4: publicIpv4(index),
        config: natConfigs['port-restricted'],
      });
      const home = network.addNat({
        name: `${hostName}-router`,
        publicIpv4: '100.64.0.2',
        config: natConfigs['port-restricted'],
        behind: cgnat,
      });
      return {
        host: network.addHost({ name: hostName, ipv4: '198.18.0.2', behind: home }),
        nats: [cgnat, home],
      };
    }
    default: {
      const box = network.addNat({
        name: `${hostName}-router`,
        publicIpv4: publicIpv4(index),
        config: natConfigs[kind === 'upnp' ? 'port-restricted' : kind],
      });
      return {
        host: network.addHost({ name: hostName, ipv4: '198.18.0.2', behind: box }),
        nats: [box],
      };
    }
  }
}

export { natKinds, natConfigs, addSite, publicIpv4 };
