import type { Address, AddressFamily } from '@node-network/network-interface';

/** One answer to `observedAddress`: where `observer` saw our packets come from. */
type Observation = {
  /** The observer's identity (NodeId text); one vote per observer. */
  observer: string;
  /** The observer's address (what we sent to). */
  observerAddress: Address;
  /** Our socket's local address (what we sent from). */
  local: Address;
  /** Where the observer saw us: our reflexive address toward it. */
  reflexive: Address;
  /** When it was observed (the injected clock's ms). */
  at: number;
};

/** One filtering test's outcome, from one observer's probe server. */
type FilteringObservation = {
  family: AddressFamily;
  /** The probe server's identity; one vote per observer. */
  observer: string;
  /** What arrived: the same endpoint always; another port / another IP of the server when it has them. */
  same: boolean;
  otherPort?: boolean;
  otherHost?: boolean;
  at: number;
};

type FilteringClass =
  'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';

/** How long an idle UDP mapping lived, bracketed by probes at growing idle intervals. */
type MappingLifetime = {
  /** The longest idle interval after which the mapping still worked, ms. */
  aliveAt: number;
  /** The shortest idle interval after which it was gone, ms (undefined: none tested failed). */
  deadAt?: number;
  /** What keepalives should use, ms. */
  recommendedKeepAliveMs: number;
  at: number;
};

type MappingClass = 'none' | 'endpoint-independent' | 'endpoint-dependent' | 'unknown';
type AllocationClass = 'preserving' | 'sequential' | 'random' | 'unknown';

/** What a node believes about its NAT, per address family. */
type NATClassification = {
  family: AddressFamily;
  /** `none`: observers see our local address (no NAT); `endpoint-dependent`: symmetric NAT. */
  mapping: MappingClass;
  /** Whether the NAT keeps our local port as the external port. */
  portPreservation: boolean | undefined;
  /** How external ports are chosen, when observers saw several. */
  allocation: AllocationClass;
  /** Which unsolicited inbound packets reach us (measured with NAT probes; unknown until then). */
  filtering: FilteringClass;
  /** The measured idle lifetime of a UDP mapping, once measured. */
  mappingLifetime?: MappingLifetime;
  /** Our reflexive addresses (text), most seen first. */
  publicAddresses: Array<string>;
  /** Distinct observers behind the current belief. */
  observers: number;
  /** When this belief was adopted. */
  since: number;
};

type NATEvent = {
  type: 'classification-changed';
  previous: NATClassification;
  current: NATClassification;
};

export type {
  Observation,
  FilteringObservation,
  FilteringClass,
  MappingLifetime,
  MappingClass,
  AllocationClass,
  NATClassification,
  NATEvent,
};
