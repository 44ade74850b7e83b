import { errors as baseErrors } from '@node-network/network-interface';

/**
 * The wire format of simulated connections (netsim's stand-in for QUIC).
 * Every packet starts with the magic byte, the version and the type; then
 * the receiver's connection id. Multi-byte integers are big-endian.
 */
const magic = 0x6e;
const version = 1;
const nodeIdLength = 32;
const maxNetworkLength = 255;

type Packet =
  /** Dialer -> listener: `connId` is the dialer's id for the connection. */
  | {
      type: 'hello';
      connId: number;
      from: Uint8Array;
      to: Uint8Array;
      network: string;
    }
  /** Listener -> dialer: `connId` is the dialer's id, `peerConnId` the listener's. */
  | { type: 'welcome'; connId: number; peerConnId: number; from: Uint8Array }
  /** Listener -> dialer: the hello was refused. */
  | { type: 'reject'; connId: number; reason: 'network' }
  /** A reliable, ordered frame of one stream. */
  | {
      type: 'frame';
      connId: number;
      seq: number;
      kind: 'data' | 'fin' | 'reset';
      streamId: number;
      data: Uint8Array;
    }
  /** Everything below `next` has arrived. */
  | { type: 'ack'; connId: number; next: number }
  | { type: 'keepalive'; connId: number }
  | { type: 'close'; connId: number };

const types = ['hello', 'welcome', 'reject', 'frame', 'ack', 'keepalive', 'close'] as const;
const frameKinds = ['data', 'fin', 'reset'] as const;
const rejectReasons = ['network'] as const;

function fail(message: string): never {
  throw new baseErrors.ErrorCodec(`Bad netsim packet: ${message}`);
}

function encodePacket(p: Packet): Uint8Array {
  const head = 7;
  let size = head;
  switch (p.type) {
    case 'hello':
      size += 2 * nodeIdLength + 1 + Buffer.byteLength(p.network);
      break;
    case 'welcome':
      size += 4 + nodeIdLength;
      break;
    case 'reject':
      size += 1;
      break;
    case 'frame':
      size += 4 + 1 + 4 + p.data.byteLength;
      break;
    case 'ack':
      size += 4;
      break;
    default:
      break;
  }
  const out = Buffer.alloc(size);
  out[0] = magic;
  out[1] = version;
  out[2] = types.indexOf(p.type);
  out.writeUInt32BE(p.connId >>> 0, 3);
  let o = head;
  switch (p.type) {
    case 'hello': {
      if (p.from.byteLength !== nodeIdLength || p.to.byteLength !== nodeIdLength) {
        fail('node ids must be 32 bytes');
      }
      const network = Buffer.from(p.network);
      if (network.byteLength > maxNetworkLength) fail('network id too long');
      out.set(p.from, o);
      out.set(p.to, o + nodeIdLength);
      o += 2 * nodeIdLength;
      out[o++] = network.byteLength;
      out.set(network, o);
      break;
    }
    case 'welcome':
      if (p.from.byteLength !== nodeIdLength) fail('node id must be 32 bytes');
      out.writeUInt32BE(p.peerConnId >>> 0, o);
      out.set(p.from, o + 4);
      break;
    case 'reject':
      out[o] = rejectReasons.indexOf(p.reason);
      break;
    case 'frame':
      out.writeUInt32BE(p.seq >>> 0, o);
      out[o + 4] = frameKinds.indexOf(p.kind);
      out.writeUInt32BE(p.streamId >>> 0, o + 5);
      out.set(p.data, o + 9);
      break;
    case 'ack':
      out.writeUInt32BE(p.next >>> 0, o);
      break;
    default:
      break;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Decodes one packet; throws `ErrorCodec` for anything that is not exactly one valid packet. */
function decodePacket(bytes: Uint8Array): Packet {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.byteLength < 7) fail(`${b.byteLength} bytes is too short`);
  if (b[0] !== magic) fail('wrong magic');
  if (b[1] !== version) fail(`unknown version ${b[1]}`);
  const type = types[b[2]];
  if (type == null) fail(`unknown type ${b[2]}`);
  const connId = b.readUInt32BE(3);
  const rest = b.subarray(7);
  const exact = (n: number) => {
    if (rest.byteLength !== n)
      fail(`${type} needs ${n} bytes after the header, got ${rest.byteLength}`);
  };
  const copy = (x: Buffer) => new Uint8Array(x);
  switch (type) {
    case 'hello': {
      if (rest.byteLength < 2 * nodeIdLength + 1) fail('hello too short');
      const len = rest[2 * nodeIdLength];
      exact(2 * nodeIdLength + 1 + len);
      const network = rest.subarray(2 * nodeIdLength + 1).toString('utf8');
      if (Buffer.byteLength(network) !== len) fail('network id is not UTF-8');
      return {
        type,
        connId,
        from: copy(rest.subarray(0, nodeIdLength)),
        to: copy(rest.subarray(nodeIdLength, 2 * nodeIdLength)),
        network,
      };
    }
    case 'welcome':
      exact(4 + nodeIdLength);
      return { type, connId, peerConnId: rest.readUInt32BE(0), from: copy(rest.subarray(4)) };
    case 'reject': {
      exact(1);
      const reason = rejectReasons[rest[0]];
      if (reason == null) fail(`unknown reject reason ${rest[0]}`);
      return { type, connId, reason };
    }
    case 'frame': {
      if (rest.byteLength < 9) fail('frame too short');
      const kind = frameKinds[rest[4]];
      if (kind == null) fail(`unknown frame kind ${rest[4]}`);
      const data = copy(rest.subarray(9));
      if (kind !== 'data' && data.byteLength > 0) fail(`${kind} frame carries data`);
      return {
        type,
        connId,
        seq: rest.readUInt32BE(0),
        kind,
        streamId: rest.readUInt32BE(5),
        data,
      };
    }
    case 'ack':
      exact(4);
      return { type, connId, next: rest.readUInt32BE(0) };
    default:
      exact(0);
      return { type, connId };
  }
}

export { encodePacket, decodePacket, nodeIdLength, maxNetworkLength };
export type { Packet };
