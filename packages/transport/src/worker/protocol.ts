import type { Address } from '@node-network/network-interface';
import type {
  KeyPair,
  MembershipClaim,
  NetworkId,
  PeerProtocol,
} from '@node-network/network-identity';
import type { AuditRecord } from '../events.js';
import type { ListenAddress, TransportConfig } from '../types.js';
import * as errors from '../errors.js';
import { toAddress } from '../addresses.js';

/**
 * The messages between `WorkerQUICTransport` (main thread) and its engines
 * (`engine.ts`, one per worker thread). Each `postMessage` carries one batch:
 * an array of messages queued during one event-loop turn, with the stream
 * data's ArrayBuffers in the transfer list. Ids: `req` is a request of the
 * main side, `c` a connection and `s` a stream, both numbered by the engine.
 */

/** An error as it crosses threads: its class name is rebuilt on the other side. */
type WireError = {
  name: string;
  message: string;
  data?: Record<string, unknown>;
  cause?: WireError;
};

/** What the main side learns about a connection. */
type ConnectionMeta = {
  c: number;
  remoteNodeId: Uint8Array;
  localAddress: Address;
  remoteAddress: Address;
  initiator: 'local' | 'remote';
  protocol: PeerProtocol;
};

/** Stream messages of the main side. */
type StreamToEngine =
  | { t: 'data'; s: number; chunks: Array<Uint8Array> }
  /** End our direction once the data before it is written. */
  | { t: 'end'; s: number }
  | { t: 'abort'; s: number; reason?: WireError }
  /** The main side stopped reading. */
  | { t: 'rcancel'; s: number; reason?: WireError }
  /** `Stream.cancel`: both directions. */
  | { t: 'scancel'; s: number; reason?: WireError }
  /** The main side's reader took `n` more bytes: the engine may read that much more from QUIC. */
  | { t: 'credit'; s: number; n: number };

/** Stream messages of the engine. */
type StreamFromEngine =
  | { t: 'data'; s: number; chunks: Array<Uint8Array> }
  /** The peer ended its direction (after the data before it). */
  | { t: 'fin'; s: number }
  | { t: 'rerr'; s: number; error: WireError }
  | { t: 'werr'; s: number; error: WireError }
  /** Our direction ended (every byte handed to QUIC, FIN queued). */
  | { t: 'ended'; s: number }
  /** QUIC took `n` more bytes: the main side may send that much more. */
  | { t: 'credit'; s: number; n: number };

type ToEngine =
  | {
      t: 'dial';
      req: number;
      nodeId: Uint8Array;
      address: Address;
      timer?: number;
      /** Dial from a client socket of its own on this local address (punch sockets). */
      local?: Address;
    }
  /** Cancels the request `req` (a dial or a stream open). */
  | { t: 'cancel'; req: number }
  | { t: 'punch'; req: number; address: Address; payload: Uint8Array }
  | { t: 'open'; req: number; c: number; timer?: number }
  | { t: 'close'; req: number; c: number }
  | { t: 'stop'; req: number }
  /** Close the sockets and end the thread now (a worker the main side gave up on). */
  | { t: 'exit' }
  /** Throw an uncaught error (tests of crash recovery). */
  | { t: 'fail' }
  | StreamToEngine;

type FromEngine =
  | { t: 'ready'; addresses: Array<Address> }
  /** Starting failed, or the engine is dying of `error`. */
  | { t: 'fatal'; error: WireError }
  | { t: 'ok'; req: number; conn?: ConnectionMeta; s?: number }
  | { t: 'err'; req: number; error: WireError }
  /** An inbound connection, verified and accepted. */
  | { t: 'conn'; conn: ConnectionMeta }
  | { t: 'closed'; c: number; reason?: WireError }
  /** The peer's address changed (migration). */
  | { t: 'addr'; c: number; address: Address }
  /** The peer opened stream `s` on connection `c`. */
  | { t: 'stream'; c: number; s: number }
  | { t: 'audit'; record: AuditRecord }
  | StreamFromEngine;

/** What an engine is started with (`workerData`). */
type EngineInit = {
  keyPair: KeyPair;
  network: NetworkId;
  membershipClaim?: MembershipClaim;
  certificateChain: Array<Uint8Array>;
  config: TransportConfig;
  listen: Array<ListenAddress>;
  /** Per stream and direction, bytes in flight between the threads. */
  streamWindow: number;
  /** Nice steps the worker thread lowers its own priority by (`lowerThreadPriority`). */
  workerNice: number;
  /** `now()` of the main side minus the engine's `Date.now()`, ms (certificate validity). */
  clockOffset: number;
  /** @matrixai/logger level of the main side's logger. */
  logLevel: number;
  /** For log lines: which worker this is. */
  name: string;
};

const maxErrorDepth = 4;
const maxText = 4096;

// ----------------------------------------------------------------- validation
// Everything that arrives from a worker is checked here: a message that does
// not fit the protocol becomes ErrorTransportWorkerProtocol, never a crash of
// the main thread or a half-handled message.

function fail(why: string): never {
  throw new errors.ErrorTransportWorkerProtocol(`Malformed message from a worker: ${why}`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function id(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) fail(`${what} is not an id`);
  return x;
}

function address(x: unknown, what: string): Address {
  if (!isObject(x)) fail(`${what} is not an address`);
  try {
    return toAddress(x.host, x.port);
  } catch {
    return fail(`${what} is not an address`);
  }
}

function bytes(x: unknown, what: string): Uint8Array {
  if (!(x instanceof Uint8Array)) fail(`${what} is not bytes`);
  return x;
}

function wireError(x: unknown, what: string, depth = 0): WireError {
  if (!isObject(x) || typeof x.name !== 'string' || typeof x.message !== 'string') {
    fail(`${what} is not an error`);
  }
  const w: WireError = { name: x.name.slice(0, 128), message: x.message.slice(0, maxText) };
  if (x.data != null) {
    if (!isObject(x.data)) fail(`${what}.data is not an object`);
    w.data = x.data;
  }
  if (x.cause != null) {
    if (depth >= maxErrorDepth) fail(`${what} nests causes too deep`);
    w.cause = wireError(x.cause, `${what}.cause`, depth + 1);
  }
  return w;
}

function optionalWireError(x: unknown, what: string): WireError | undefined {
  return x == null ? undefined : wireError(x, what);
}

function connectionMeta(x: unknown): ConnectionMeta {
  if (!isObject(x)) fail('conn is not an object');
  const remoteNodeId = bytes(x.remoteNodeId, 'conn.remoteNodeId');
  if (remoteNodeId.byteLength !== 32) fail('conn.remoteNodeId is not 32 bytes');
  if (x.initiator !== 'local' && x.initiator !== 'remote') fail('conn.initiator');
  if (x.protocol !== 'node-network' && x.protocol !== 'polykey-1') fail('conn.protocol');
  return {
    c: id(x.c, 'conn.c'),
    remoteNodeId,
    localAddress: address(x.localAddress, 'conn.localAddress'),
    remoteAddress: address(x.remoteAddress, 'conn.remoteAddress'),
    initiator: x.initiator,
    protocol: x.protocol,
  };
}

const auditKinds = new Set<string>([
  'dial-attempt',
  'dial-address-result',
  'dial-result',
  'connection-open',
  'connection-close',
  'connection-duplicate',
  'inbound-rejected',
]);

function auditRecord(x: unknown): AuditRecord {
  if (!isObject(x) || typeof x.kind !== 'string' || !auditKinds.has(x.kind)) {
    fail('audit record');
  }
  const r: Record<string, unknown> = {
    kind: x.kind,
    time: typeof x.time === 'number' ? x.time : Date.now(),
  };
  for (const k of ['nodeId', 'address', 'direction', 'outcome', 'connectionId', 'detail']) {
    if (x[k] != null) {
      if (typeof x[k] !== 'string') fail(`audit record ${k}`);
      r[k] = (x[k] as string).slice(0, maxText);
    }
  }
  if (x.durationMs != null) {
    if (typeof x.durationMs !== 'number') fail('audit record durationMs');
    r.durationMs = x.durationMs;
  }
  if (x.error != null) {
    const e = wireError(x.error, 'audit record error');
    r.error = { name: e.name, message: e.message };
  }
  return r as AuditRecord;
}

function chunks(x: unknown): Array<Uint8Array> {
  if (!Array.isArray(x)) fail('data chunks are not an array');
  return x.map((c, i) => bytes(c, `chunk ${i}`));
}

/** Checks one message of a worker's batch and returns it typed. */
function parseFromEngine(m: unknown): FromEngine {
  if (!isObject(m) || typeof m.t !== 'string') fail('not a message');
  switch (m.t) {
    case 'ready': {
      if (!Array.isArray(m.addresses)) fail('ready.addresses');
      return { t: 'ready', addresses: m.addresses.map((a, i) => address(a, `addresses[${i}]`)) };
    }
    case 'fatal':
      return { t: 'fatal', error: wireError(m.error, 'fatal.error') };
    case 'ok': {
      const r: FromEngine = { t: 'ok', req: id(m.req, 'req') };
      if (m.conn != null) r.conn = connectionMeta(m.conn);
      if (m.s != null) r.s = id(m.s, 's');
      return r;
    }
    case 'err':
      return { t: 'err', req: id(m.req, 'req'), error: wireError(m.error, 'err.error') };
    case 'conn':
      return { t: 'conn', conn: connectionMeta(m.conn) };
    case 'closed':
      return { t: 'closed', c: id(m.c, 'c'), reason: optionalWireError(m.reason, 'reason') };
    case 'addr':
      return { t: 'addr', c: id(m.c, 'c'), address: address(m.address, 'addr.address') };
    case 'stream':
      return { t: 'stream', c: id(m.c, 'c'), s: id(m.s, 's') };
    case 'audit':
      return { t: 'audit', record: auditRecord(m.record) };
    case 'data':
      return { t: 'data', s: id(m.s, 's'), chunks: chunks(m.chunks) };
    case 'fin':
    case 'ended':
      return { t: m.t, s: id(m.s, 's') };
    case 'rerr':
    case 'werr':
      return { t: m.t, s: id(m.s, 's'), error: wireError(m.error, `${m.t}.error`) };
    case 'credit': {
      const n = id(m.n, 'credit.n');
      return { t: 'credit', s: id(m.s, 's'), n };
    }
    default:
      return fail(`unknown message type ${JSON.stringify(m.t).slice(0, 32)}`);
  }
}

/** Checks a whole batch (as `postMessage` delivered it). */
function parseFromEngineBatch(batch: unknown): Array<FromEngine> {
  if (!Array.isArray(batch)) fail('a batch is not an array');
  return batch.map(parseFromEngine);
}

export type {
  WireError,
  ConnectionMeta,
  StreamToEngine,
  StreamFromEngine,
  ToEngine,
  FromEngine,
  EngineInit,
};
export { maxErrorDepth, maxText, parseFromEngine, parseFromEngineBatch };
