import type { AuditRecord } from '@node-network/transport';
import * as errors from '../errors.js';

/**
 * How audit records are stored: the value is `{ v: 1, ...record }` (JSON,
 * through @matrixai/db, so encrypted when the DB has a key), the key is the
 * record's time then a sequence number (16 bytes, both unsigned 64-bit
 * big-endian), so key order is time order and a time range is a key range.
 * A stored value is untrusted on the way back (a corrupt or foreign DB):
 * `decodeAuditRecord` checks every field and throws
 * `ErrorAuditRecordInvalid`.
 */
const auditRecordVersion = 1;

/** Limits of a decoded record's strings. */
const maxTextLength = 65_536;
const maxShortLength = 256;

const paths = ['direct', 'punched', 'relayed', 'http-relay'] as const;
const directions = ['outbound', 'inbound'] as const;
const outcomes = ['ok', 'failed', 'cancelled', 'timeout'] as const;
/** Kinds are open (a newer node may write one we do not know) but shaped. */
const kindPattern = /^[a-z][a-z0-9-]{0,63}$/;

type StoredAuditRecord = { v: typeof auditRecordVersion } & AuditRecord;

/**
 * A record to its stored form. Strings longer than the decoder accepts are
 * cut (a claimed NodeId comes from a peer's certificate), so whatever is
 * written reads back.
 */
function encodeAuditRecord(r: AuditRecord): StoredAuditRecord {
  const out: Record<string, unknown> = { v: auditRecordVersion, time: r.time, kind: r.kind };
  for (const f of ['path', 'direction', 'outcome', 'durationMs'] as const) {
    if (r[f] !== undefined) out[f] = r[f];
  }
  for (const f of ['nodeId', 'address', 'connectionId'] as const) {
    if (r[f] !== undefined) out[f] = r[f]!.slice(0, maxShortLength);
  }
  if (r.detail !== undefined) out.detail = r.detail.slice(0, maxTextLength);
  if (r.error !== undefined) {
    out.error = {
      name: String(r.error.name).slice(0, maxShortLength),
      message: String(r.error.message).slice(0, maxTextLength),
    };
  }
  return out as StoredAuditRecord;
}

function invalid(message: string): never {
  throw new errors.ErrorAuditRecordInvalid(message);
}

function text(v: unknown, field: string, max = maxTextLength): string {
  if (typeof v !== 'string' || v.length > max)
    invalid(`${field} is not a string of at most ${max}`);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, allowed: ReadonlyArray<T>): T {
  if (!allowed.includes(v as T)) invalid(`${field} is not one of ${allowed.join(', ')}`);
  return v as T;
}

/** A stored value (parsed JSON) back to a record; `ErrorAuditRecordInvalid` unless well formed. */
function decodeAuditRecord(value: unknown): AuditRecord {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) {
    invalid('not an object');
  }
  const o = value as Record<string, unknown>;
  if (o.v !== auditRecordVersion) {
    invalid(`unknown version ${typeof o.v === 'number' ? o.v : typeof o.v}`);
  }
  if (typeof o.time !== 'number' || !Number.isFinite(o.time) || o.time < 0) {
    invalid('time is not a finite non-negative number');
  }
  const kind = text(o.kind, 'kind', 64);
  if (!kindPattern.test(kind)) invalid('kind is malformed');
  const r: AuditRecord = { time: o.time, kind: kind as AuditRecord['kind'] };
  if (o.nodeId !== undefined) r.nodeId = text(o.nodeId, 'nodeId', maxShortLength);
  if (o.address !== undefined) r.address = text(o.address, 'address', maxShortLength);
  if (o.path !== undefined) r.path = oneOf(o.path, 'path', paths);
  if (o.direction !== undefined) r.direction = oneOf(o.direction, 'direction', directions);
  if (o.outcome !== undefined) r.outcome = oneOf(o.outcome, 'outcome', outcomes);
  if (o.durationMs !== undefined) {
    if (typeof o.durationMs !== 'number' || !Number.isFinite(o.durationMs)) {
      invalid('durationMs is not a finite number');
    }
    r.durationMs = o.durationMs;
  }
  if (o.connectionId !== undefined) {
    r.connectionId = text(o.connectionId, 'connectionId', maxShortLength);
  }
  if (o.error !== undefined) {
    const e = o.error as Record<string, unknown> | null;
    if (e == null || typeof e !== 'object') invalid('error is not an object');
    r.error = {
      name: text(e.name, 'error.name', maxShortLength),
      message: text(e.message, 'error.message'),
    };
  }
  if (o.detail !== undefined) r.detail = text(o.detail, 'detail');
  return r;
}

/** Raw stored bytes (JSON) to a record. */
function decodeAuditRecordBytes(raw: Buffer): AuditRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new errors.ErrorAuditRecordInvalid(`not JSON (${raw.byteLength} bytes)`, { cause: e });
  }
  return decodeAuditRecord(parsed);
}

const recordKeyLength = 16;

/** A record's key: time (ms, floored, clamped at 0) then sequence, both u64 big-endian. */
function recordKey(time: number, seq: number): Buffer {
  const b = Buffer.alloc(recordKeyLength);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(Number.isFinite(time) ? time : 0))), 0);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(seq))), 8);
  return b;
}

/** The bound of a time range: every record key at `time` or later is >= it. */
function timeBound(time: number): Buffer {
  return recordKey(time, 0);
}

function parseRecordKey(key: Buffer): { time: number; seq: number } {
  if (!Buffer.isBuffer(key) || key.byteLength !== recordKeyLength) {
    invalid(`record key is not ${recordKeyLength} bytes`);
  }
  const time = key.readBigUInt64BE(0);
  const seq = key.readBigUInt64BE(8);
  if (time > BigInt(Number.MAX_SAFE_INTEGER) || seq > BigInt(Number.MAX_SAFE_INTEGER)) {
    invalid('record key is out of range');
  }
  return { time: Number(time), seq: Number(seq) };
}

export {
  auditRecordVersion,
  encodeAuditRecord,
  decodeAuditRecord,
  decodeAuditRecordBytes,
  recordKey,
  timeBound,
  parseRecordKey,
};
export type { StoredAuditRecord };
