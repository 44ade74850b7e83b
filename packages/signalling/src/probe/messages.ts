import type { Address, AddressFamily, Host, Port } from '@node-network/network-interface';
import { formatIPv6 } from '@node-network/network-interface';
import { isIPv4, isIPv6 } from 'node:net';
import { ErrorNATProbeMessage } from './errors.js';

/**
 * The NAT probe wire format (UDP, big-endian). A request asks a probe server
 * to answer from some of its endpoints, at once or after a delay; an answer
 * says which endpoint it came from and where the server saw the request
 * come from (the client's reflexive address).
 *
 * ```
 * offset size  request (type 1)            answer (type 2)
 *  0      2    magic 0x4e50 ("NP")         magic
 *  2      1    version (2)                 version
 *  3      1    type = 1                    type = 2
 *  4      8    nonce                       nonce (the request's)
 * 12      1    replyFrom flags (1..7)      from: exactly one flag
 * 13      4    delayMs (0..600000)         13: family (4 | 6), 14: port (u16)
 * 17     15    zero padding                16: IPv4 (4 bytes) or IPv6 (16 bytes)
 *        = 32 bytes exactly                = 20 or 32 bytes
 * ```
 *
 * Flags: 1 = `same` (the endpoint the request went to), 2 = `other-port`
 * (another port of the same host), 4 = `other-host` (another IP of the same
 * machine).
 *
 * Anti-amplification: a request is padded to `requestSize` (32) bytes, which
 * is at least `maxAnswerSize` (32), and a request gets at most one answer per
 * flag, so the server never sends more than 3 x the bytes it received for a
 * request (the UDP/IP headers are the same size on both sides, so this holds
 * on the wire too).
 *
 * `decodeProbeMessage` accepts exactly the bytes `encodeProbeMessage`
 * produces: one encoding per message, so anything it decodes re-encodes to
 * the same bytes, and everything else is refused with `ErrorNATProbeMessage`
 * (an `ErrorCodec`).
 */
const magic = 0x4e50;
const version = 2;
const typeRequest = 1;
const typeAnswer = 2;
const headerSize = 12;
const nonceLength = 8;
const maxAnswerSize = headerSize + 4 + 16;
const requestSize = maxAnswerSize;
/** Larger datagrams are refused before anything else is read. */
const maxDatagramSize = 512;
const maxDelayMs = 600_000;

type ReplyFrom = 'same' | 'other-port' | 'other-host';
const replyFromBits: Readonly<Record<ReplyFrom, number>> = {
  same: 1,
  'other-port': 2,
  'other-host': 4,
};
const replyFroms: ReadonlyArray<ReplyFrom> = ['same', 'other-port', 'other-host'];

type ProbeRequest = {
  type: 'probe';
  /** 8 bytes chosen by the client; answers carry it back. */
  nonce: Uint8Array;
  /** Endpoints to answer from (at least one; order and duplicates do not matter). */
  replyFrom: Array<ReplyFrom>;
  /** Answer after this many ms (0: at once), at most `maxDelayMs`. */
  delayMs: number;
};

type ProbeAnswer = {
  type: 'answer';
  nonce: Uint8Array;
  /** Which of the server's endpoints sent this answer. */
  from: ReplyFrom;
  /** The request's source as the server saw it: the client's reflexive address. */
  observed: Address;
};

type ProbeMessage = ProbeRequest | ProbeAnswer;

function fail(why: string): never {
  throw new ErrorNATProbeMessage(`Bad NAT probe message: ${why}`);
}

function bitOf(r: unknown): number {
  if (typeof r === 'string' && Object.hasOwn(replyFromBits, r)) {
    return replyFromBits[r as ReplyFrom];
  }
  return fail(`unknown reply endpoint ${String(r)}`);
}

/** The 4 bytes of an IPv4 literal in dotted-quad form, or undefined. */
function parseIPv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split('.').map(Number));
}

/** The 16 bytes of an IPv6 literal (no brackets, no zone), or undefined. */
function parseIPv6(text: string): Uint8Array | undefined {
  if (text.includes('%') || !isIPv6(text)) return undefined;
  let head = text;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (tail == null) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  const left = halves[0] === '' ? [] : halves[0].split(':');
  const right = halves.length > 1 && halves[1] !== '' ? halves[1].split(':') : [];
  const fill = halves.length > 1 ? 8 - left.length - right.length : 0;
  const groups = [...left, ...new Array<string>(Math.max(0, fill)).fill('0'), ...right];
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  });
  if (tail != null) bytes.set(tail, 12);
  return bytes;
}

function formatIP(bytes: Uint8Array): string {
  return bytes.byteLength === 4 ? Array.from(bytes).join('.') : formatIPv6(bytes);
}

/** The bytes of `host` read as `family`, or undefined when it is not such a literal. */
function ipBytes(host: string, family: AddressFamily): Uint8Array | undefined {
  if (typeof host !== 'string') return undefined;
  if (family === 'ipv4') return parseIPv4(host);
  if (family === 'ipv6') return parseIPv6(host);
  return undefined;
}

/**
 * Whether two addresses have the same IP (ports ignored), with an
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) equal to its IPv4 address.
 */
function sameIp(a: Address, b: Address): boolean {
  const key = (x: Address): string | undefined => {
    const bytes = ipBytes(x.host, x.family);
    if (bytes == null) return undefined;
    const mapped =
      bytes.byteLength === 16 &&
      bytes.subarray(0, 10).every((v) => v === 0) &&
      bytes[10] === 0xff &&
      bytes[11] === 0xff;
    return formatIP(mapped ? bytes.subarray(12) : bytes);
  };
  const ka = key(a);
  return ka != null && ka === key(b);
}

function header(b: Uint8Array, type: number, nonce: Uint8Array): DataView {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint16(0, magic);
  b[2] = version;
  b[3] = type;
  b.set(nonce, 4);
  return v;
}

/**
 * Encodes one message; `ErrorNATProbeMessage` for a message that has no
 * encoding (wrong nonce length, no or unknown reply endpoints, delay out of
 * range, observed address that is not an IP literal of its family).
 */
function encodeProbeMessage(m: ProbeMessage): Uint8Array {
  if (!(m.nonce instanceof Uint8Array) || m.nonce.byteLength !== nonceLength) {
    fail(`nonce must be ${nonceLength} bytes`);
  }
  if (m.type === 'probe') {
    if (!Number.isInteger(m.delayMs) || m.delayMs < 0 || m.delayMs > maxDelayMs) {
      fail(`delay must be an integer in 0..${maxDelayMs} ms`);
    }
    if (!Array.isArray(m.replyFrom)) fail('replyFrom must be an array');
    let bits = 0;
    for (const r of m.replyFrom) bits |= bitOf(r);
    if (bits === 0) fail('a probe must ask for at least one answer');
    const b = new Uint8Array(requestSize);
    const v = header(b, typeRequest, m.nonce);
    b[12] = bits;
    v.setUint32(13, m.delayMs);
    return b;
  }
  if (m.type === 'answer') {
    const bit = bitOf(m.from);
    if (m.observed == null) fail('an answer needs the observed address');
    const { host, port, family } = m.observed;
    const ip = ipBytes(host, family) ?? fail(`observed host is not an ${family} address`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid port ${port}`);
    const b = new Uint8Array(headerSize + 4 + ip.byteLength);
    const v = header(b, typeAnswer, m.nonce);
    b[12] = bit;
    b[13] = ip.byteLength === 4 ? 4 : 6;
    v.setUint16(14, port);
    b.set(ip, 16);
    return b;
  }
  fail('unknown message type');
}

/**
 * Decodes one datagram; `ErrorNATProbeMessage` (an `ErrorCodec`) for
 * anything that is not exactly one valid message: oversized (above 512
 * bytes), truncated or extended, wrong magic, version or type, unknown or
 * missing flags, a delay out of range, non-zero padding, an invalid address
 * family.
 */
function decodeProbeMessage(bytes: Uint8Array): ProbeMessage {
  if (!(bytes instanceof Uint8Array)) fail('not bytes');
  if (bytes.byteLength > maxDatagramSize) fail(`${bytes.byteLength} bytes is oversized`);
  if (bytes.byteLength < headerSize + 1) fail(`${bytes.byteLength} bytes is truncated`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint16(0) !== magic) fail('wrong magic');
  if (bytes[2] !== version) fail(`unsupported version ${bytes[2]}`);
  const nonce = bytes.slice(4, 4 + nonceLength);
  if (bytes[3] === typeRequest) {
    if (bytes.byteLength !== requestSize) {
      fail(`a probe is ${requestSize} bytes, got ${bytes.byteLength}`);
    }
    const bits = bytes[12];
    if (bits === 0 || (bits & ~7) !== 0) fail(`invalid reply flags ${bits}`);
    const delayMs = v.getUint32(13);
    if (delayMs > maxDelayMs) fail(`delay ${delayMs} ms is above ${maxDelayMs}`);
    for (let i = 17; i < requestSize; i++) if (bytes[i] !== 0) fail('padding must be zero');
    return {
      type: 'probe',
      nonce,
      replyFrom: replyFroms.filter((r) => (bits & replyFromBits[r]) !== 0),
      delayMs,
    };
  }
  if (bytes[3] === typeAnswer) {
    const from = replyFroms.find((r) => replyFromBits[r] === bytes[12]);
    if (from == null) fail(`invalid answer endpoint ${bytes[12]}`);
    if (bytes.byteLength < headerSize + 4) fail('answer truncated');
    const ipLength = bytes[13] === 4 ? 4 : bytes[13] === 6 ? 16 : fail('invalid address family');
    if (bytes.byteLength !== headerSize + 4 + ipLength) {
      fail(`an IPv${bytes[13]} answer is ${headerSize + 4 + ipLength} bytes`);
    }
    return {
      type: 'answer',
      nonce,
      from,
      observed: {
        host: formatIP(bytes.subarray(16)) as Host,
        port: v.getUint16(14) as Port,
        family: ipLength === 4 ? 'ipv4' : 'ipv6',
      },
    };
  }
  fail(`unknown type ${bytes[3]}`);
}

export {
  encodeProbeMessage,
  decodeProbeMessage,
  sameIp,
  requestSize,
  maxAnswerSize,
  maxDatagramSize,
  maxDelayMs,
  nonceLength,
  replyFroms,
};
export type { ProbeMessage, ProbeRequest, ProbeAnswer, ReplyFrom };
