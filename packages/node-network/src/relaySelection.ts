import type { Address } from '@node-network/network-interface';

/** A peer that could relay for us: one we dialled directly and hold. */
type RelayCandidate = {
  /** NodeId text. */
  nodeId: string;
  /** Where we reach it (its address family and network prefix give diversity). */
  address: Address;
  /** Smoothed ping round trip, ms; undefined until measured. */
  rttMs?: number;
  /** When we connected (ties: the longer held first). */
  since: number;
};

/**
 * The network a relay sits in, for diversity: an IPv4 /16 or an IPv6 /32
 * (relays sharing one are likely one operator, one outage).
 */
function diversityKey(a: Address): string {
  if (a.family === 'ipv6') {
    const groups = expandIPv6(a.host);
    return `ipv6:${groups.slice(0, 2).join(':')}`;
  }
  return `ipv4:${a.host.split('.').slice(0, 2).join('.')}`;
}

function expandIPv6(host: string): Array<string> {
  const [head, tail] = host.toLowerCase().split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail == null || tail === '' ? [] : tail.split(':');
  const fill =
    tail == null ? [] : new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0');
  return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, ''));
}

/**
 * Chooses up to `count` relays by latency and diversity: the fastest of
 * each address family first (a dual-stack choice lets IPv4-only and
 * IPv6-only diallers both reach us), then the fastest in a network not yet
 * chosen, then the fastest of the rest. Unmeasured candidates rank after
 * measured ones, longest held first.
 */
function chooseRelays(
  candidates: ReadonlyArray<RelayCandidate>,
  count: number,
): Array<RelayCandidate> {
  const ranked = [...candidates].sort(
    (a, b) =>
      (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity) ||
      a.since - b.since ||
      (a.nodeId < b.nodeId ? -1 : 1),
  );
  const chosen: Array<RelayCandidate> = [];
  const take = (pick: (c: RelayCandidate) => boolean) => {
    for (const c of ranked) {
      if (chosen.length >= count) return;
      if (!chosen.includes(c) && pick(c)) chosen.push(c);
    }
  };
  take((c) => !chosen.some((x) => x.address.family === c.address.family));
  take((c) => !chosen.some((x) => diversityKey(x.address) === diversityKey(c.address)));
  take(() => true);
  // Fastest first: the order diallers try them in.
  return chosen.sort((a, b) => ranked.indexOf(a) - ranked.indexOf(b));
}

export { chooseRelays, diversityKey };
export type { RelayCandidate };
