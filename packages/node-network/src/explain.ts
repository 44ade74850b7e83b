import type { AuditRecord } from '@node-network/transport';
import type { Contact } from '@node-network/nodegraph';
import type { NATClassification } from '@node-network/signalling';
import type { ConnectionStatus } from './types.js';
import { clockTime, natKind, shortNodeId } from './describe.js';

/** One step toward (or away from) a peer, from the audit log. */
type ExplainStep = {
  time: number;
  kind: string;
  outcome?: string;
  address?: string;
  path?: string;
  direction?: string;
  durationMs?: number;
  /** `Name: message` of the error, when it failed. */
  error?: string;
  detail?: string;
};

/** Why we are (or are not) connected to a peer, and how we got there. */
type Explanation = {
  nodeId: string;
  connected: boolean;
  /** The live connection: its path, where, since when (wall ms, when known). */
  connection?: ConnectionStatus & { since?: number };
  /** Direct dials to one address each, with outcome and error (oldest first). */
  attempts: Array<ExplainStep>;
  /** Whole direct dials (happy eyeballs over every address), with outcome. */
  dials: Array<ExplainStep>;
  /** Signals sent, answered, forwarded for it or refused, with the hops in `detail`. */
  signalling: Array<ExplainStep>;
  punches: Array<ExplainStep>;
  /** Relay circuits used for it, upgrades, relays that broke. */
  relays: Array<ExplainStep>;
  /** What was refused, either way, with the reason. */
  refusals: Array<ExplainStep>;
  lookups: Array<ExplainStep>;
  /** Connections opened, closed and replaced. */
  connections: Array<ExplainStep>;
  nat: {
    /** Ours, per family: the kind (`natKind`) and the detector's belief. */
    local: Record<
      'ipv4' | 'ipv6',
      { kind: string; mapping: string; filtering: string; allocation: string }
    >;
    /** Theirs, as their last signal said (text), when one came. */
    remote?: string;
  };
  /** Addresses we would try (live, given, seeds). */
  knownAddresses: Array<string>;
  /** The NodeGraph's contact; `null`: the table does not hold it; absent: no NodeGraph. */
  nodeGraph?: Contact | null;
  /** How many audit records this was built from. */
  records: number;
  /** The same, in a few lines. */
  text: string;
};

const refusalPattern = /Reject|Refus|RateLimit|Quota|Mismatch|Forbidden|Membership/i;

function step(r: AuditRecord): ExplainStep {
  const s: ExplainStep = { time: r.time, kind: r.kind };
  if (r.outcome != null) s.outcome = r.outcome;
  if (r.address != null) s.address = r.address;
  if (r.path != null) s.path = r.path;
  if (r.direction != null) s.direction = r.direction;
  if (r.durationMs != null) s.durationMs = r.durationMs;
  if (r.error != null) s.error = `${r.error.name}: ${r.error.message}`;
  if (r.detail != null) s.detail = r.detail;
  return s;
}

function isRefusal(r: AuditRecord): boolean {
  // (A whole dial's result repeats its addresses' refusals.)
  if (r.kind === 'dial-result') return false;
  return (
    r.kind === 'inbound-rejected' ||
    (r.outcome === 'failed' &&
      ((r.error != null && refusalPattern.test(r.error.name)) || /^refused/.test(r.detail ?? '')))
  );
}

/**
 * Builds the explanation of one peer from its audit records (oldest first)
 * and what the node knows of it now.
 */
function explainPeer({
  nodeId,
  records,
  connection,
  knownAddresses,
  nat,
  contact,
}: {
  nodeId: string;
  records: ReadonlyArray<AuditRecord>;
  connection?: ConnectionStatus & { since?: number };
  knownAddresses: Array<string>;
  nat: { ipv4: NATClassification; ipv6: NATClassification };
  contact?: Contact | null;
}): Explanation {
  const of = (...kinds: Array<string>) => records.filter((r) => kinds.includes(r.kind)).map(step);
  let remoteNat: string | undefined;
  for (const r of records) {
    const m = r.kind === 'signal' ? /their NAT ([^;]+)/.exec(r.detail ?? '') : null;
    if (m != null) remoteNat = m[1].trim();
  }
  const local = (c: NATClassification) => ({
    kind: natKind(c),
    mapping: c.mapping,
    filtering: c.filtering,
    allocation: c.allocation,
  });
  const e: Explanation = {
    nodeId,
    connected: connection != null,
    ...(connection != null ? { connection } : {}),
    attempts: of('dial-address-result'),
    dials: of('dial-result'),
    signalling: of('signal'),
    punches: of('punch'),
    relays: of('relay'),
    refusals: records.filter(isRefusal).map(step),
    lookups: of('lookup'),
    connections: of('connection-open', 'connection-close', 'connection-duplicate'),
    nat: {
      local: { ipv4: local(nat.ipv4), ipv6: local(nat.ipv6) },
      ...(remoteNat != null ? { remote: remoteNat } : {}),
    },
    knownAddresses,
    ...(contact !== undefined ? { nodeGraph: contact } : {}),
    records: records.length,
    text: '',
  };
  e.text = explanationText(e);
  return e;
}

function outcomeText(s: ExplainStep): string {
  return `${s.outcome ?? 'done'}${s.durationMs != null ? ` in ${Math.round(s.durationMs)} ms` : ''}${
    s.error != null ? ` (${s.error})` : ''
  }`;
}

/** A step with its own words: the detail, then how long and why it failed. */
function stepText(s: ExplainStep): string {
  if (s.detail == null) return outcomeText(s);
  return `${s.detail}${s.durationMs != null ? ` in ${Math.round(s.durationMs)} ms` : ''}${
    s.error != null ? ` (${s.error})` : ''
  }`;
}

function last<T>(xs: ReadonlyArray<T>): T | undefined {
  return xs[xs.length - 1];
}

function explanationText(e: Explanation): string {
  const lines: Array<string> = [];
  const c = e.connection;
  if (c != null) {
    lines.push(
      `Connected to ${e.nodeId} by a ${c.path} path at ${c.remoteAddress}${
        c.relay != null ? ` through relay ${shortNodeId(c.relay)}` : ''
      } (${c.initiator === 'local' ? 'we dialled' : 'it dialled us'})${
        c.since != null ? `, since ${clockTime(c.since)}` : ''
      }.`,
    );
  } else {
    const failed = last(e.dials.filter((d) => d.outcome !== 'ok'));
    const closed = last(e.connections.filter((x) => x.kind === 'connection-close'));
    lines.push(
      `Not connected to ${e.nodeId}.${
        closed != null
          ? ` The last connection closed at ${clockTime(closed.time)}${closed.error != null ? ` (${closed.error})` : ''}.`
          : ''
      }${failed != null ? ` Last direct dial ${outcomeText(failed)}.` : ''}`,
    );
  }
  if (e.attempts.length > 0) {
    const addrs = new Set(e.attempts.map((a) => a.address));
    const recent = e.attempts.slice(-4).map((a) => `${a.address} ${outcomeText(a)}`);
    lines.push(
      `Direct: ${e.attempts.length} attempts to ${addrs.size} addresses; latest: ${recent.join('; ')}.`,
    );
  }
  if (e.signalling.length > 0) {
    const ok = e.signalling.filter((s) => s.outcome === 'ok').length;
    const l = last(e.signalling)!;
    lines.push(`Signalling: ${e.signalling.length} records (${ok} ok); latest: ${stepText(l)}.`);
  }
  if (e.punches.length > 0) {
    const l = last(e.punches)!;
    lines.push(`Punching: ${e.punches.length} records; latest: ${stepText(l)}.`);
  }
  if (e.relays.length > 0) {
    const l = last(e.relays)!;
    lines.push(`Relays: ${e.relays.length} records; latest: ${stepText(l)}.`);
  }
  if (e.refusals.length > 0) {
    const l = last(e.refusals)!;
    lines.push(
      `Refused ${e.refusals.length} times; latest (${l.kind}${l.direction != null ? `, ${l.direction}` : ''}): ${l.error ?? l.detail ?? ''}.`,
    );
  }
  lines.push(
    `NAT: ours ipv4 ${e.nat.local.ipv4.kind}, ipv6 ${e.nat.local.ipv6.kind}; theirs ${e.nat.remote ?? 'not known (no signal from it)'}.`,
  );
  if (e.nodeGraph === null) {
    lines.push('NodeGraph: no contact.');
  } else if (e.nodeGraph != null) {
    const g = e.nodeGraph;
    lines.push(
      `NodeGraph: ${g.addresses.length} addresses (${g.addresses
        .map(
          (a) =>
            `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port} ${a.source}, ${a.failures} failures`,
        )
        .join('; ')}); paths ${
        Object.entries(g.paths)
          .map(([p, t]) => `${p} at ${clockTime(t as number)}`)
          .join(', ') || 'none yet'
      }; ${g.penalties} penalties.`,
    );
  }
  if (e.knownAddresses.length > 0 && c == null) {
    lines.push(`Known addresses: ${e.knownAddresses.join(', ')}.`);
  }
  if (e.records === 0) lines.push('No audit records mention it.');
  return lines.join('\n');
}

export { explainPeer, explanationText };
export type { Explanation, ExplainStep };
