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

export type { Observation, MappingClass, AllocationClass, NATClassification, NATEvent };
