import type { NodeId } from '@node-network/network-interface';

/** How a candidate address was learnt. */
type CandidateKind = 'local' | 'reflexive' | 'observed' | 'upnp';

/** An address where a node may be reached. */
type Candidate = { host: string; port: number; family: 'ipv4' | 'ipv6'; kind: CandidateKind };

/** What a node believes about its NAT, as signals carry it (chooses the punching strategy). */
type NATHint = {
  mapping: 'endpoint-independent' | 'address-dependent' | 'endpoint-dependent' | 'unknown';
  allocation: 'preserve' | 'sequential' | 'random' | 'unknown';
  filtering:
    'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';
};

type NATHints = { ipv4?: NATHint; ipv6?: NATHint };

/** A request for a connection, from `source` (A) to `target` (B), forwarded hop by hop. */
type SignalRequest = {
  version: 1;
  network: string;
  source: NodeId;
  target: NodeId;
  /** A's own candidates. */
  candidates: Array<Candidate>;
  nat: NATHints;
  /** 16 random bytes. */
  nonce: Uint8Array;
  /** A's wall time, ms since the epoch. */
  time: number;
  /** Ed25519 by A over the fields above. */
  signature: Uint8Array;
  /** Added by hops, not signed: hops so far (0 as A sends it). */
  hops: number;
  /** Added by hops, not signed: the NodeIds it passed through. */
  path: Array<NodeId>;
  /** Added by the first hop, not signed: where it sees A. */
  observed: Array<Candidate>;
};

/** A node that relays for the answerer (it keeps a connection to it), and where to reach it. */
type RelayHint = { nodeId: NodeId; candidates: Array<Candidate> };

/** B's answer, back along the same hops. */
type SignalAnswer = {
  version: 1;
  network: string;
  /** The answerer (B). */
  source: NodeId;
  /** The requester (A). */
  target: NodeId;
  /** The request's nonce: binds the answer to it. */
  requestNonce: Uint8Array;
  candidates: Array<Candidate>;
  nat: NATHints;
  time: number;
  /** Both start punching this long after the answer, ms (0..5000). */
  punchDelayMs: number;
  /** Relays B keeps connections to: A's way in when punching fails. */
  relays: Array<RelayHint>;
  /** Ed25519 by B over the fields above. */
  signature: Uint8Array;
  /** Added by the last hop, not signed: where it sees B. */
  observed: Array<Candidate>;
};

export type { CandidateKind, Candidate, NATHint, NATHints, SignalRequest, SignalAnswer, RelayHint };
