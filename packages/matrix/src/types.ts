import type { NATClassification } from '@node-network/signalling';
import type { NATKind } from '@node-network/netsim';
import { natKinds } from '@node-network/netsim';

/** The NAT kinds of the matrix, named as the labs name them (netsim's list). */
const kinds = natKinds;

type Kind = NATKind;

type Path = 'direct' | 'punched' | 'relayed' | 'http-relay';

type PairResult = {
  a: Kind;
  b: Kind;
  connected: boolean;
  path: Path | null;
  /** Relayed pairs: `datagram` (the relay forwards one end-to-end QUIC connection) or `stream` (TLS over RPC streams). */
  circuit?: 'datagram' | 'stream';
  connectMs: number | null;
  error: string | null;
};

/** What one node of a kind believes about its NAT after talking to the helpers. */
type KindNat = {
  kind: Kind;
  ipv4: Pick<
    NATClassification,
    'mapping' | 'allocation' | 'portPreservation' | 'filtering' | 'observers'
  >;
  ipv6: Pick<
    NATClassification,
    'mapping' | 'allocation' | 'portPreservation' | 'filtering' | 'observers'
  >;
};

type MatrixReport = {
  lab: 'netns' | 'sim';
  pairs: Array<PairResult>;
  summary: {
    pairs: number;
    connected: number;
    direct: number;
    punched: number;
    relayed: number;
    httpRelay: number;
  };
  /** Per kind: the NAT classification its node reached (NAT behaviour detection). */
  nat: Array<KindNat>;
  /** Wall time of the whole run, ms. */
  wallMs: number;
};

/** Every unordered pair of kinds, a kind with itself included, in `kinds` order. */
function allPairs(only?: ReadonlyArray<Kind>): Array<[Kind, Kind]> {
  const ks = only ?? kinds;
  const out: Array<[Kind, Kind]> = [];
  for (let i = 0; i < ks.length; i++) {
    for (let j = i; j < ks.length; j++) out.push([ks[i], ks[j]]);
  }
  return out;
}

function summarise(pairs: Array<PairResult>): MatrixReport['summary'] {
  return {
    pairs: pairs.length,
    connected: pairs.filter((p) => p.connected).length,
    direct: pairs.filter((p) => p.path === 'direct').length,
    punched: pairs.filter((p) => p.path === 'punched').length,
    relayed: pairs.filter((p) => p.path === 'relayed').length,
    httpRelay: pairs.filter((p) => p.path === 'http-relay').length,
  };
}

export { kinds, allPairs, summarise };
export type { Kind, Path, PairResult, KindNat, MatrixReport };
