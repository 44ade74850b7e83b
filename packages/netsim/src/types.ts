import type { natKinds } from './presets.js';

/** How a NAT picks the external endpoint for an outbound flow (RFC 4787 section 4.1). */
type MappingBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

/** Which inbound packets a NAT lets through to a mapping (RFC 4787 section 5). */
type FilteringBehaviour =
  'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

/** How a NAT chooses external ports. */
type PortAllocation = 'preserve' | 'sequential' | 'random';

type NATConfig = {
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  allocation: PortAllocation;
  /** A mapping idle for this long (virtual ms) is gone. */
  mappingLifetime: number;
  /** Whether inbound packets keep a mapping alive (outbound always do). */
  refreshOnInbound: boolean;
  /** Whether hosts behind the NAT reach each other through its public address. */
  hairpinning: boolean;
  /** Drop every UDP packet, both ways (a firewall that blocks UDP). */
  blockUdp: boolean;
};

/** The NAT kinds of the connectivity matrix, named as in the netns lab (`natKinds`). */
type NATKind = (typeof natKinds)[number];

export type { MappingBehaviour, FilteringBehaviour, PortAllocation, NATConfig, NATKind };
