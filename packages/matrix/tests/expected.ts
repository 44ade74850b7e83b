import type { Kind, KindNat } from '../src/types.js';

/** The mapping behaviour each kind's NAT really has, per family (what detection must find). */
const expectedMapping: Record<Kind, { ipv4: string; ipv6: string }> = {
  open: { ipv4: 'none', ipv6: 'none' },
  'full-cone': { ipv4: 'endpoint-independent', ipv6: 'unknown' },
  restricted: { ipv4: 'endpoint-independent', ipv6: 'unknown' },
  'port-restricted': { ipv4: 'endpoint-independent', ipv6: 'unknown' },
  symmetric: { ipv4: 'endpoint-dependent', ipv6: 'unknown' },
  'double-nat': { ipv4: 'endpoint-independent', ipv6: 'unknown' },
  'udp-blocked': { ipv4: 'unknown', ipv6: 'unknown' },
  'ipv6-only': { ipv4: 'unknown', ipv6: 'none' },
  upnp: { ipv4: 'endpoint-independent', ipv6: 'unknown' },
};

/** The filtering each kind's NAT really does on IPv4 (IPv6 for ipv6-only): what probes must find. */
const expectedFiltering: Record<Kind, string> = {
  open: 'endpoint-independent',
  'full-cone': 'endpoint-independent',
  restricted: 'address-dependent',
  'port-restricted': 'address-and-port-dependent',
  symmetric: 'address-and-port-dependent',
  'double-nat': 'address-and-port-dependent',
  'udp-blocked': 'unknown',
  'ipv6-only': 'endpoint-independent',
  upnp: 'address-and-port-dependent',
};

/**
 * Whether a direct dial from `a` to `b`'s reflexive address can work: `b`
 * must accept unsolicited inbound packets (no NAT, or endpoint-independent
 * filtering) in a family both have, and `a` must be able to send UDP.
 */
function directReachable(a: Kind, b: Kind): boolean {
  if (a === 'udp-blocked' || b === 'udp-blocked') return false;
  const v6 = (k: Kind) => k === 'open' || k === 'ipv6-only';
  const v4 = (k: Kind) => k !== 'ipv6-only';
  if (v6(a) && v6(b)) return true;
  return v4(a) && v4(b) && (b === 'open' || b === 'full-cone');
}

/**
 * The path a connection from `a` to `b` must take today: `direct` when a
 * direct dial works; `punched` when both have IPv4 and UDP, unless both are
 * symmetric (endpoint-dependent on both sides; one symmetric side against a
 * port-filtering one is a birthday punch); `relayed` for two symmetric NATs
 * and for IPv6-only against IPv4-only (through the dual-stack relay);
 * `http-relay` with UDP blocked (a WebSocket to the dual-stack relay).
 */
function expectedPath(a: Kind, b: Kind): 'direct' | 'punched' | 'relayed' | 'http-relay' | null {
  if (directReachable(a, b)) return 'direct';
  if (a === 'udp-blocked' || b === 'udp-blocked') return 'http-relay';
  if (a === 'ipv6-only' || b === 'ipv6-only') return 'relayed';
  if (a === 'symmetric' && b === 'symmetric') return 'relayed';
  return 'punched';
}

/** The NAT belief a kind's node must reach: mapping per family, and filtering. */
function expectedNat(kind: Kind) {
  return { kind, ...expectedMapping[kind], filtering: expectedFiltering[kind] };
}

/** What a matrix run found for a kind, in the shape of `expectedNat`. */
function natFinding(n: KindNat) {
  return {
    kind: n.kind,
    ipv4: n.ipv4.mapping,
    ipv6: n.ipv6.mapping,
    filtering: n.kind === 'ipv6-only' ? n.ipv6.filtering : n.ipv4.filtering,
  };
}

export {
  expectedMapping,
  expectedFiltering,
  expectedNat,
  natFinding,
  directReachable,
  expectedPath,
};
