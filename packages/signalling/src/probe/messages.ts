import type { Address, Port } from '@node-network/network-interface';
import { errors as baseErrors } from '@node-network/network-interface';
import { isIP } from 'node:net';

/**
 * The NAT probe wire format (UDP). A request asks a probe server to answer
 * from some of its endpoints, now or after a delay; an answer says which
 * endpoint it came from and where the server saw the request come from.
 *
 * Anti-amplification: a request is padded to `requestSize` bytes, and an
 * answer is at most `maxAnswerSize` (< `requestSize`) bytes, so the server
 * never sends more than 3 answers x `maxAnswerSize` bytes for
 * `requestSize` bytes received (ratio below 3).
 */
const magic = 0x4e50; // "NP"
const version = 1;
const requestSize = 64;
const maxAnswerSize = 60;
const maxDatagram = 512;
const maxDelayMs = 600_000;
const nonceLength = 8;

type ReplyFrom = 'same' | 'other-port' | 'other-host';
const replyFromBits: Record<ReplyFrom, number> = { same: 1, 'other-port': 2, 'other-host': 4 };
const replyFroms = Object.keys(replyFromBits) as Array<ReplyFrom>;

type ProbeRequest = {
  type: 'probe';
  nonce: Uint8Array;
  replyFrom: Array<ReplyFrom>;
  delayMs: number;
};

type ProbeAnswer = {
  type: 'answer';
  nonce: Uint8Array;
  from: ReplyFrom;
  /** The request's source as the server saw it: the client's reflexive address. */
  observed: Address;
};

type ProbeMessage = ProbeRequest | ProbeAnswer;

function fail(why: string): never {
  throw new baseErrors.ErrorCodec(`Bad NAT probe message: ${why}`);
}

function header(b: Buffer, type: number): void {
  b.writeUInt16BE(magic, 0);
  b[2] = version;
  b[3] = type;
}

function encodeProbeMessage(m: ProbeMessage): Uint8Array {
  if (m.nonce.byteLength !== nonceLength) fail(`nonce must be ${nonceLength} bytes`);
  if (m.type === 'probe') {
    if (!Number.isInteger(m.delayMs) || m.delayMs < 0 || m.delayMs > maxDelayMs) {
      fail(`delay must be 0..${maxDelayMs} ms`);
    }
    let bits = 0;
    for (const r of m.replyFrom) bits |= replyFromBits[r] ?? fail(`unknown reply endpoint ${r}`);
    if (bits === 0) fail('a probe must ask for at least one answer');
    const b = Buffer.alloc(requestSize);
    header(b, 1);
    b.set(m.nonce, 4);
    b[12] = bits;
    b.writeUInt32BE(m.delayMs, 13);
    return new Uint8Array(b);
  }
  const host = m.observed.host;
  if (isIP(host) !== (m.observed.family === 'ipv6' ? 6 : 4))
    fail(`invalid ${m.observed.family} ${host}`);
  const hostBytes = Buffer.from(host, 'latin1');
  const b = Buffer.alloc(4 + nonceLength + 1 + 2 + 1 + hostBytes.byteLength);
  if (b.byteLength > maxAnswerSize) fail('address too long');
  header(b, 2);
  b.set(m.nonce, 4);
  b[12] = replyFromBits[m.from] ?? fail(`unknown reply endpoint ${m.from}`);
  b.writeUInt16BE(m.observed.port, 13);
  b[15] = hostBytes.byteLength;
  b.set(hostBytes, 16);
  return new Uint8Array(b);
}

/** Decodes one message; `ErrorCodec` for anything that is not exactly one valid message. */
function decodeProbeMessage(bytes: Uint8Array): ProbeMessage {
  if (bytes.byteLength > maxDatagram) fail(`${bytes.byteLength} bytes is oversized`);
  if (bytes.byteLength < 13) fail(`${bytes.byteLength} bytes is too short`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.readUInt16BE(0) !== magic) fail('wrong magic');
  if (b[2] !== version) fail(`unknown version ${b[2]}`);
  const nonce = new Uint8Array(b.subarray(4, 4 + nonceLength));
  if (b[3] === 1) {
    if (b.byteLength !== requestSize) fail(`a probe is ${requestSize} bytes, got ${b.byteLength}`);
    const bits = b[12];
    if (bits === 0 || bits > 7) fail(`invalid reply flags ${bits}`);
    const delayMs = b.readUInt32BE(13);
    if (delayMs > maxDelayMs) fail(`delay ${delayMs} ms is above ${maxDelayMs}`);
    if (b.subarray(17).some((x) => x !== 0)) fail('padding must be zero');
    return {
      type: 'probe',
      nonce,
      replyFrom: replyFroms.filter((r) => (bits & replyFromBits[r]) !== 0),
      delayMs,
    };
  }
  if (b[3] === 2) {
    if (b.byteLength < 16) fail('answer too short');
    const from = replyFroms.find((r) => replyFromBits[r] === b[12]);
    if (from == null) fail(`invalid answer endpoint ${b[12]}`);
    const len = b[15];
    if (b.byteLength !== 16 + len) fail('answer length does not match its address');
    const host = b.subarray(16).toString('latin1');
    const family = isIP(host);
    if (family === 0 || Buffer.from(host, 'latin1').toString('latin1') !== host) {
      fail('invalid observed address');
    }
    const port = b.readUInt16BE(13);
    // One text form per address, so a decoded answer re-encodes to the same bytes.
    if (family === 4 && host.split('.').some((o) => o.length > 1 && o.startsWith('0'))) {
      fail('non-canonical IPv4');
    }
    return {
      type: 'answer',
      nonce,
      from,
      observed: {
        host: host as Address['host'],
        port: port as Port,
        family: family === 6 ? 'ipv6' : 'ipv4',
      },
    };
  }
  fail(`unknown type ${b[3]}`);
}

export {
  encodeProbeMessage,
  decodeProbeMessage,
  requestSize,
  maxAnswerSize,
  maxDelayMs,
  nonceLength,
  replyFroms,
};
export type { ProbeMessage, ProbeRequest, ProbeAnswer, ReplyFrom };
