import type { NodeId } from '@node-network/network-interface';
import type { KeyPair } from '@node-network/network-identity';
import type {
  Candidate,
  CandidateKind,
  NATHint,
  NATHints,
  RelayHint,
  SignalAnswer,
  SignalRequest,
} from './types.js';
import type ReplayGuard from './ReplayGuard.js';
import net from 'node:net';
import * as identity from '@node-network/network-identity';
import * as errors from './errors.js';

/** Candidates one message carries (a node's own). */
const maxCandidates = 8;
/** Hop-observed addresses one message carries. */
const maxObserved = 2;
/** Relays one answer names, and candidates per relay. */
const maxRelays = 4;
const maxRelayCandidates = 4;
/** Hops a request may travel. */
const maxHops = 8;
/** How far a message's time may be from ours, ms. */
const maxSkewMs = 60_000;
/** The largest message (its JSON text), bytes. */
const maxWireBytes = 8192;
/** The most a target may ask both sides to wait before punching, ms. */
const maxPunchDelayMs = 5_000;

const candidateKinds: ReadonlyArray<CandidateKind> = ['local', 'reflexive', 'observed', 'upnp'];
const mappings: ReadonlyArray<NATHint['mapping']> = [
  'endpoint-independent',
  'address-dependent',
  'endpoint-dependent',
  'unknown',
];
const allocations: ReadonlyArray<NATHint['allocation']> = [
  'preserve',
  'sequential',
  'random',
  'unknown',
];
const filterings: ReadonlyArray<NATHint['filtering']> = [
  'endpoint-independent',
  'address-dependent',
  'address-and-port-dependent',
  'unknown',
];

const requestDomain = 'node-network signal request v1\0';
const answerDomain = 'node-network signal answer v1\0';

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function candidateTuple(c: Candidate): Array<unknown> {
  return [c.host, c.port, c.family, c.kind];
}

function natTuple(n: NATHints): Array<unknown> {
  return (['ipv4', 'ipv6'] as const).map((f) =>
    n[f] == null ? null : [n[f]!.mapping, n[f]!.allocation, n[f]!.filtering],
  );
}

/**
 * The bytes a request's signature covers: a domain-separation prefix, then
 * the JSON text of an array of the signed fields in a fixed order (arrays
 * have one JSON text, so the encoding is canonical). Hop-added fields
 * (`hops`, `path`, `observed`) are not covered.
 */
function signedRequestBytes(r: Omit<SignalRequest, 'signature' | 'hops' | 'path' | 'observed'>) {
  return Buffer.from(
    requestDomain +
      JSON.stringify([
        r.version,
        r.network,
        identity.encodeNodeId(r.source),
        identity.encodeNodeId(r.target),
        r.candidates.map(candidateTuple),
        natTuple(r.nat),
        b64(r.nonce),
        r.time,
      ]),
  );
}

/** The bytes an answer's signature covers (as for requests; `observed` is not covered). */
function signedAnswerBytes(a: Omit<SignalAnswer, 'signature' | 'observed'>) {
  return Buffer.from(
    answerDomain +
      JSON.stringify([
        a.version,
        a.network,
        identity.encodeNodeId(a.source),
        identity.encodeNodeId(a.target),
        b64(a.requestNonce),
        a.candidates.map(candidateTuple),
        natTuple(a.nat),
        a.time,
        a.punchDelayMs,
        a.relays.map((h) => [identity.encodeNodeId(h.nodeId), h.candidates.map(candidateTuple)]),
      ]),
  );
}

function createSignalRequest({
  keyPair,
  network,
  target,
  candidates,
  nat,
  nonce,
  time,
}: {
  keyPair: KeyPair;
  network: string;
  target: NodeId;
  candidates: Array<Candidate>;
  nat: NATHints;
  nonce: Uint8Array;
  time: number;
}): SignalRequest {
  const unsigned = {
    version: 1 as const,
    network,
    source: keyPair.publicKey as NodeId,
    target,
    candidates,
    nat,
    nonce,
    time,
  };
  return {
    ...unsigned,
    signature: identity.sign(keyPair.privateKey, signedRequestBytes(unsigned)),
    hops: 0,
    path: [],
    observed: [],
  };
}

function createSignalAnswer({
  keyPair,
  network,
  request,
  candidates,
  nat,
  time,
  punchDelayMs,
  relays = [],
}: {
  keyPair: KeyPair;
  network: string;
  request: SignalRequest;
  candidates: Array<Candidate>;
  nat: NATHints;
  time: number;
  punchDelayMs: number;
  relays?: Array<RelayHint>;
}): SignalAnswer {
  const unsigned = {
    version: 1 as const,
    network,
    source: keyPair.publicKey as NodeId,
    target: request.source,
    requestNonce: request.nonce,
    candidates,
    nat,
    time,
    punchDelayMs,
    relays,
  };
  return {
    ...unsigned,
    signature: identity.sign(keyPair.privateKey, signedAnswerBytes(unsigned)),
    observed: [],
  };
}

function encodeCandidate(c: Candidate): object {
  return { host: c.host, port: c.port, family: c.family, kind: c.kind };
}

function encodeSignalRequest(r: SignalRequest): Record<string, unknown> {
  return {
    version: r.version,
    network: r.network,
    source: identity.encodeNodeId(r.source),
    target: identity.encodeNodeId(r.target),
    candidates: r.candidates.map(encodeCandidate),
    nat: r.nat,
    nonce: b64(r.nonce),
    time: r.time,
    signature: b64(r.signature),
    hops: r.hops,
    path: r.path.map((p) => identity.encodeNodeId(p)),
    observed: r.observed.map(encodeCandidate),
  };
}

function encodeSignalAnswer(a: SignalAnswer): Record<string, unknown> {
  return {
    version: a.version,
    network: a.network,
    source: identity.encodeNodeId(a.source),
    target: identity.encodeNodeId(a.target),
    requestNonce: b64(a.requestNonce),
    candidates: a.candidates.map(encodeCandidate),
    nat: a.nat,
    time: a.time,
    punchDelayMs: a.punchDelayMs,
    relays: a.relays.map((h) => ({
      nodeId: identity.encodeNodeId(h.nodeId),
      candidates: h.candidates.map(encodeCandidate),
    })),
    signature: b64(a.signature),
    observed: a.observed.map(encodeCandidate),
  };
}

/** Field readers that refuse with `ErrorSignalMalformed` and name the field. */
class Reader {
  protected o: Record<string, unknown>;
  public constructor(json: unknown, what: string) {
    if (typeof json !== 'object' || json == null || Array.isArray(json)) {
      throw new errors.ErrorSignalMalformed(`A ${what} is a JSON object`);
    }
    let size: number;
    try {
      size = JSON.stringify(json).length;
    } catch (e) {
      throw new errors.ErrorSignalMalformed(`A ${what} must be JSON`, { cause: e });
    }
    if (size > maxWireBytes) {
      throw new errors.ErrorSignalOversized(`A ${what} of ${size} bytes (limit ${maxWireBytes})`);
    }
    this.o = json as Record<string, unknown>;
  }

  public fail(field: string, why: string): never {
    throw new errors.ErrorSignalMalformed(`${field}: ${why}`);
  }

  public string(field: string, max = 200): string {
    const v = this.o[field];
    if (typeof v !== 'string' || v.length === 0 || v.length > max) {
      this.fail(field, `a string of 1 to ${max} characters`);
    }
    return v;
  }

  public int(field: string, min: number, max: number): number {
    const v = this.o[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.fail(field, `an integer in ${min}..${max}`);
    }
    return v;
  }

  public nodeId(field: string, v: unknown = this.o[field]): NodeId {
    if (typeof v !== 'string' || v.length > 100) this.fail(field, 'a NodeId');
    try {
      return identity.decodeNodeId(v);
    } catch {
      return this.fail(field, 'a NodeId');
    }
  }

  public bytes(field: string, length: number): Uint8Array {
    const v = this.o[field];
    if (typeof v !== 'string' || !/^[A-Za-z0-9_-]*$/.test(v) || v.length > 2 * length) {
      this.fail(field, `${length} bytes in base64url`);
    }
    const b = new Uint8Array(Buffer.from(v, 'base64url'));
    if (b.byteLength !== length || b64(b) !== v) this.fail(field, `${length} bytes in base64url`);
    return b;
  }

  public array(field: string, max: number): Array<unknown> {
    const v = this.o[field];
    if (!Array.isArray(v)) this.fail(field, 'an array');
    if (v.length > max) {
      throw new errors.ErrorSignalOversized(`${field}: ${v.length} entries (limit ${max})`);
    }
    return v;
  }

  public candidates(field: string, max: number): Array<Candidate> {
    return this.array(field, max).map((c, i) => {
      const where = `${field}[${i}]`;
      if (typeof c !== 'object' || c == null) this.fail(where, 'an object');
      const { host, port, family, kind } = c as Record<string, unknown>;
      if (family !== 'ipv4' && family !== 'ipv6') this.fail(where, 'family ipv4 or ipv6');
      if (
        typeof host !== 'string' ||
        host.length > 45 ||
        !(family === 'ipv4' ? net.isIPv4(host) : net.isIPv6(host))
      ) {
        this.fail(where, `an ${family} literal host`);
      }
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        this.fail(where, 'a port in 1..65535');
      }
      if (!candidateKinds.includes(kind as CandidateKind)) this.fail(where, 'a candidate kind');
      return { host, port, family, kind: kind as CandidateKind };
    });
  }

  /** Relay hints; absent means none. */
  public relays(field: string): Array<RelayHint> {
    if (this.o[field] === undefined) return [];
    return this.array(field, maxRelays).map((h, i) => {
      const where = `${field}[${i}]`;
      if (typeof h !== 'object' || h == null || Array.isArray(h)) this.fail(where, 'an object');
      const sub = new Reader(h, 'relay hint');
      return {
        nodeId: sub.nodeId(`${where}.nodeId`, (h as Record<string, unknown>).nodeId),
        candidates: sub.candidates('candidates', maxRelayCandidates),
      };
    });
  }

  public nat(field: string): NATHints {
    const v = this.o[field];
    if (typeof v !== 'object' || v == null || Array.isArray(v)) this.fail(field, 'an object');
    const out: NATHints = {};
    for (const [k, h] of Object.entries(v)) {
      if (k !== 'ipv4' && k !== 'ipv6') this.fail(field, `unknown family ${k.slice(0, 20)}`);
      if (h == null) continue;
      const { mapping, allocation, filtering } = h as Record<string, unknown>;
      if (
        !mappings.includes(mapping as any) ||
        !allocations.includes(allocation as any) ||
        !filterings.includes(filtering as any)
      ) {
        this.fail(`${field}.${k}`, 'a NAT hint');
      }
      out[k] = { mapping, allocation, filtering } as NATHint;
    }
    return out;
  }
}

/** Decodes a request's wire form; throws `ErrorSignalMalformed` / `ErrorSignalOversized` only. */
function decodeSignalRequest(json: unknown): SignalRequest {
  const r = new Reader(json, 'signal request');
  if (r.int('version', 1, 1) !== 1) r.fail('version', 'must be 1');
  const path = r.array('path', maxHops).map((p, i) => r.nodeId(`path[${i}]`, p));
  return {
    version: 1,
    network: r.string('network'),
    source: r.nodeId('source'),
    target: r.nodeId('target'),
    candidates: r.candidates('candidates', maxCandidates),
    nat: r.nat('nat'),
    nonce: r.bytes('nonce', 16),
    time: r.int('time', 0, Number.MAX_SAFE_INTEGER),
    signature: r.bytes('signature', 64),
    hops: r.int('hops', 0, maxHops),
    path,
    observed: r.candidates('observed', maxObserved),
  };
}

/** Decodes an answer's wire form; throws `ErrorSignalMalformed` / `ErrorSignalOversized` only. */
function decodeSignalAnswer(json: unknown): SignalAnswer {
  const r = new Reader(json, 'signal answer');
  r.int('version', 1, 1);
  return {
    version: 1,
    network: r.string('network'),
    source: r.nodeId('source'),
    target: r.nodeId('target'),
    requestNonce: r.bytes('requestNonce', 16),
    candidates: r.candidates('candidates', maxCandidates),
    nat: r.nat('nat'),
    time: r.int('time', 0, Number.MAX_SAFE_INTEGER),
    punchDelayMs: r.int('punchDelayMs', 0, maxPunchDelayMs),
    relays: r.relays('relays'),
    signature: r.bytes('signature', 64),
    observed: r.candidates('observed', maxObserved),
  };
}

function checkFresh(time: number, now: number, what: string): void {
  if (Math.abs(now - time) > maxSkewMs) {
    throw new errors.ErrorSignalStale(
      `The ${what}'s time is ${Math.round((time - now) / 1000)} s from ours (limit ${maxSkewMs / 1000} s)`,
    );
  }
}

/**
 * Checks a decoded request: network, signature by its source, freshness,
 * hop count and path (no loops), then the replay guard (last, so that only
 * valid requests are remembered). Throws the typed error of the first
 * failing check.
 */
function verifySignalRequest(
  r: SignalRequest,
  { network, now, replay }: { network: string; now: number; replay?: ReplayGuard },
): void {
  if (r.network !== network) {
    throw new errors.ErrorSignalNetwork(`A signal for ${r.network}; we are on ${network}`);
  }
  if (!identity.verify(r.source, signedRequestBytes(r), r.signature)) {
    throw new errors.ErrorSignalSignature(
      `The request is not signed by its source ${identity.encodeNodeId(r.source)}`,
    );
  }
  checkFresh(r.time, now, 'request');
  if (r.hops > maxHops || r.path.length > maxHops || r.hops !== r.path.length) {
    throw new errors.ErrorSignalHopLimit(
      `${r.hops} hops with a path of ${r.path.length} (limit ${maxHops})`,
    );
  }
  const seen = new Set<string>([identity.encodeNodeId(r.source), identity.encodeNodeId(r.target)]);
  if (seen.size === 1) throw new errors.ErrorSignalLoop('A signal from a node to itself');
  for (const p of r.path) {
    const t = identity.encodeNodeId(p);
    if (seen.has(t)) throw new errors.ErrorSignalLoop(`${t} appears twice on the signal's path`);
    seen.add(t);
  }
  replay?.check(now, identity.encodeNodeId(r.source), r.nonce, r.time);
}

/** Checks an answer against the request it answers. */
function verifySignalAnswer(
  a: SignalAnswer,
  { network, now, request }: { network: string; now: number; request: SignalRequest },
): void {
  if (a.network !== network) {
    throw new errors.ErrorSignalNetwork(`An answer for ${a.network}; we are on ${network}`);
  }
  if (
    !identity.nodeIdEquals(a.source, request.target) ||
    !identity.nodeIdEquals(a.target, request.source) ||
    Buffer.compare(Buffer.from(a.requestNonce), Buffer.from(request.nonce)) !== 0
  ) {
    throw new errors.ErrorSignalMismatch('The answer does not answer our request');
  }
  if (!identity.verify(a.source, signedAnswerBytes(a), a.signature)) {
    throw new errors.ErrorSignalSignature(
      `The answer is not signed by ${identity.encodeNodeId(a.source)}`,
    );
  }
  checkFresh(a.time, now, 'answer');
}

export {
  maxCandidates,
  maxObserved,
  maxHops,
  maxSkewMs,
  maxWireBytes,
  maxPunchDelayMs,
  maxRelays,
  maxRelayCandidates,
  createSignalRequest,
  createSignalAnswer,
  encodeSignalRequest,
  encodeSignalAnswer,
  decodeSignalRequest,
  decodeSignalAnswer,
  verifySignalRequest,
  verifySignalAnswer,
  signedRequestBytes,
  signedAnswerBytes,
};
