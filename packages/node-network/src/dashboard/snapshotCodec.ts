import type { NetworkSnapshot, SnapshotEvent, SnapshotLink, SnapshotNode } from './types.js';
import * as errors from '../errors.js';

/**
 * Checks a snapshot from outside (a file, another process's URL, the
 * agent's control socket) before the dashboard serves it: shape, types and
 * sizes. Returns a copy with the known fields only; anything else is
 * `ErrorNetworkSnapshotInvalid`.
 */
const snapshotLimits = {
  nodes: 10_000,
  links: 50_000,
  events: 2_000,
  addresses: 32,
  stats: 200,
  idLength: 256,
  textLength: 4_096,
  /** A snapshot's JSON text, bytes. */
  bytes: 16 * 1024 * 1024,
};

function invalid(message: string): never {
  throw new errors.ErrorNetworkSnapshotInvalid(message);
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) invalid(`${where} is not an object`);
  return v as Record<string, unknown>;
}

function array(v: unknown, where: string, max: number): Array<unknown> {
  if (!Array.isArray(v)) invalid(`${where} is not an array`);
  if (v.length > max) invalid(`${where} has ${v.length} entries, more than ${max}`);
  return v;
}

function str(v: unknown, where: string, max = snapshotLimits.idLength): string {
  if (typeof v !== 'string') invalid(`${where} is not a string`);
  if (v.length > max) invalid(`${where} is longer than ${max}`);
  return v;
}

function num(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(`${where} is not a finite number`);
  return v;
}

function optional<T>(v: unknown, f: (v: unknown) => T): T | undefined {
  return v === undefined ? undefined : f(v);
}

function decodeNode(v: unknown, i: number): SnapshotNode {
  const o = object(v, `nodes[${i}]`);
  const w = `nodes[${i}]`;
  if (typeof o.up !== 'boolean') invalid(`${w}.up is not a boolean`);
  const n: SnapshotNode = { id: str(o.id, `${w}.id`), up: o.up };
  const label = optional(o.label, (x) => str(x, `${w}.label`));
  const nat = optional(o.nat, (x) => str(x, `${w}.nat`));
  if (label !== undefined) n.label = label;
  if (nat !== undefined) n.nat = nat;
  if (o.relay !== undefined) {
    if (typeof o.relay !== 'boolean') invalid(`${w}.relay is not a boolean`);
    n.relay = o.relay;
  }
  if (o.addresses !== undefined) {
    n.addresses = array(o.addresses, `${w}.addresses`, snapshotLimits.addresses).map((a, j) =>
      str(a, `${w}.addresses[${j}]`),
    );
  }
  return n;
}

function decodeLink(v: unknown, i: number): SnapshotLink {
  const o = object(v, `links[${i}]`);
  const w = `links[${i}]`;
  const l: SnapshotLink = {
    a: str(o.a, `${w}.a`),
    b: str(o.b, `${w}.b`),
    path: str(o.path, `${w}.path`, 32),
  };
  const via = optional(o.via, (x) => str(x, `${w}.via`));
  if (via !== undefined) l.via = via;
  return l;
}

const levels = ['info', 'warn', 'error'] as const;

function decodeEvent(v: unknown, i: number): SnapshotEvent {
  const o = object(v, `events[${i}]`);
  const w = `events[${i}]`;
  const e: SnapshotEvent = {
    time: num(o.time, `${w}.time`),
    kind: str(o.kind, `${w}.kind`, 64),
    text: str(o.text, `${w}.text`, snapshotLimits.textLength),
  };
  if (o.level !== undefined) {
    if (!levels.includes(o.level as (typeof levels)[number])) {
      invalid(`${w}.level is not one of ${levels.join(', ')}`);
    }
    e.level = o.level as SnapshotEvent['level'];
  }
  return e;
}

function decodeSnapshot(v: unknown): NetworkSnapshot {
  const o = object(v, 'the snapshot');
  const s: NetworkSnapshot = {
    time: num(o.time, 'time'),
    source: str(o.source, 'source', 64),
    nodes: array(o.nodes, 'nodes', snapshotLimits.nodes).map(decodeNode),
    links: array(o.links, 'links', snapshotLimits.links).map(decodeLink),
    events: array(o.events, 'events', snapshotLimits.events).map(decodeEvent),
  };
  const title = optional(o.title, (x) => str(x, 'title'));
  if (title !== undefined) s.title = title;
  if (o.stats !== undefined) {
    const stats = object(o.stats, 'stats');
    const entries = Object.entries(stats);
    if (entries.length > snapshotLimits.stats)
      invalid(`stats has more than ${snapshotLimits.stats} entries`);
    // fromEntries defines a `__proto__` name as a plain property.
    s.stats = Object.fromEntries(
      entries.map(([k, x]) => [str(k, 'a stats name', 128), num(x, `stats.${k.slice(0, 64)}`)]),
    );
  }
  return s;
}

/** Snapshot JSON text to a snapshot; `ErrorNetworkSnapshotInvalid` for bad JSON too. */
function parseSnapshot(text: string): NetworkSnapshot {
  if (text.length > snapshotLimits.bytes) invalid(`more than ${snapshotLimits.bytes} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new errors.ErrorNetworkSnapshotInvalid(`not JSON: ${(e as Error).message}`, { cause: e });
  }
  return decodeSnapshot(v);
}

export { decodeSnapshot, parseSnapshot, snapshotLimits };
