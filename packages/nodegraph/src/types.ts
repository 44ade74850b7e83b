import type { AddressFamily } from '@node-network/network-interface';

/** Where an address came from. */
type AddressSource = 'seed' | 'lookup' | 'mdns' | 'observed' | 'upnp' | 'relay' | 'config';

/** How a connection to the node was made. */
type PathKind = 'direct' | 'punched' | 'relayed';

/** One way to reach a node, with its own history. */
type ContactAddress = {
  /** An IP literal, or a hostname (seed nodes). */
  host: string;
  port: number;
  family: AddressFamily | 'hostname';
  source: AddressSource;
  scope: 'local' | 'global';
  /** Last success (ms, the injected clock's wall time), or when it was learnt. */
  lastSeen: number;
  /** Last failure, if any. */
  lastFailure?: number;
  /** Failures since the last success. */
  failures: number;
};

/** What the table keeps about one node. */
type Contact = {
  /** NodeId text. */
  nodeId: string;
  addresses: Array<ContactAddress>;
  /** Paths that worked, and when they last did. */
  paths: Partial<Record<PathKind, number>>;
  /** The newest `lastSeen` of its addresses (orders the bucket: least recently seen first). */
  lastSeen: number;
  /** Misbehaviour (malformed answers and the like), counted. */
  penalties: number;
};

type NodeGraphConfig = {
  /** Contacts per bucket (Kademlia's k). */
  k: number;
  /** An address unseen for this long is dropped by GC, ms. */
  addressTtl: number;
  /** An address failing this many times in a row is dropped by GC. */
  maxAddressFailures: number;
  /** Addresses kept per contact (the most recently seen). */
  maxAddressesPerContact: number;
  /** Candidates waiting for a full bucket's ping-before-evict, per bucket. */
  maxPendingPerBucket: number;
  /** A bucket not refreshed by a lookup for this long is stale, ms. */
  refreshInterval: number;
  /** Contacts per GC transaction (GC never holds the table for long). */
  gcBatchSize: number;
  /** Keys `closestNodes` reads from one range before it looks for a narrower one (at least 4k). */
  closestRangeLimit: number;
};

export type { AddressSource, PathKind, ContactAddress, Contact, NodeGraphConfig };
