/**
 * PCP (RFC 6887) ANNOUNCE and MAP messages for IPv4 mappings, both
 * directions (the gateway side serves the tests). Decoders throw
 * `ErrorUPnPResponseInvalid` for anything the RFC does not allow.
 */
import type { PortMappingProtocol } from '../types.js';
import { ErrorUPnPResponseInvalid, ErrorUPnPResponseTooLarge } from '../errors.js';
import { maxDatagramBytes } from './natpmp.js';
import { ipv4FromMapped, ipv4MappedToBytes, isIPv4 } from './ipv4.js';

const pcpVersion = 2;
const opAnnounce = 0;
const opMap = 1;
const headerBytes = 24;
const mapBytes = 36;
const nonceBytes = 12;
const protocolNumbers: Record<PortMappingProtocol, number> = { udp: 17, tcp: 6 };

/** RFC 6887 §7.4 result codes. */
const pcpResultCodes: Record<number, string> = {
  0: 'SUCCESS',
  1: 'UNSUPP_VERSION',
  2: 'NOT_AUTHORIZED',
  3: 'MALFORMED_REQUEST',
  4: 'UNSUPP_OPCODE',
  5: 'UNSUPP_OPTION',
  6: 'MALFORMED_OPTION',
  7: 'NETWORK_FAILURE',
  8: 'NO_RESOURCES',
  9: 'UNSUPP_PROTOCOL',
  10: 'USER_EX_QUOTA',
  11: 'CANNOT_PROVIDE_EXTERNAL',
  12: 'ADDRESS_MISMATCH',
  13: 'EXCESSIVE_REMOTE_PEERS',
};

type PcpMap = {
  nonce: Uint8Array;
  protocol: PortMappingProtocol;
  internalPort: number;
  /** Suggested (request) or assigned (response); 0: no preference. */
  externalPort: number;
  /** Suggested (request, '0.0.0.0': no preference) or assigned (response). */
  externalAddress: string;
};

type PcpRequest =
  | { opcode: 'announce'; clientAddress: string }
  | ({ opcode: 'map'; clientAddress: string; lifetimeSeconds: number } & PcpMap);

type PcpResponse =
  | { ok: true; opcode: 'announce'; lifetimeSeconds: number; epoch: number }
  | ({ ok: true; opcode: 'map'; lifetimeSeconds: number; epoch: number } & PcpMap)
  | {
      ok: false;
      opcode: 'announce' | 'map';
      resultCode: number;
      lifetimeSeconds: number;
      epoch: number;
      /** The request's nonce echoed back, when the error response carries it. */
      nonce?: Uint8Array;
      /** The server answered in NAT-PMP's format (version 0): it does not speak PCP. */
      natPmpOnly?: boolean;
    };

function invalid(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`PCP: ${reason}`, { data: { method: 'pcp', reason } });
}

function writeHeader(b: Uint8Array, opcode: number, lifetime: number, client: string): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  b[0] = pcpVersion;
  b[1] = opcode;
  v.setUint32(4, lifetime);
  b.set(ipv4MappedToBytes(client), 8);
}

function writeMap(b: Uint8Array, m: PcpMap): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  b.set(m.nonce.subarray(0, nonceBytes), headerBytes);
  b[headerBytes + 12] = protocolNumbers[m.protocol];
  v.setUint16(headerBytes + 16, m.internalPort);
  v.setUint16(headerBytes + 18, m.externalPort);
  b.set(ipv4MappedToBytes(m.externalAddress), headerBytes + 20);
}

function encodePcpRequest(req: PcpRequest): Uint8Array {
  if (!isIPv4(req.clientAddress)) throw new RangeError(`client address ${req.clientAddress}`);
  if (req.opcode === 'announce') {
    const b = new Uint8Array(headerBytes);
    writeHeader(b, opAnnounce, 0, req.clientAddress);
    return b;
  }
  if (req.nonce.length !== nonceBytes) throw new RangeError('a PCP nonce is 12 bytes');
  if (!Number.isInteger(req.internalPort) || req.internalPort < 1 || req.internalPort > 0xffff) {
    throw new RangeError(`internal port ${req.internalPort}`);
  }
  if (!Number.isInteger(req.externalPort) || req.externalPort < 0 || req.externalPort > 0xffff) {
    throw new RangeError(`external port ${req.externalPort}`);
  }
  if (
    !Number.isInteger(req.lifetimeSeconds) ||
    req.lifetimeSeconds < 0 ||
    req.lifetimeSeconds > 0xffffffff
  ) {
    throw new RangeError(`lifetime ${req.lifetimeSeconds}`);
  }
  if (!isIPv4(req.externalAddress)) throw new RangeError(`external address ${req.externalAddress}`);
  const b = new Uint8Array(headerBytes + mapBytes);
  writeHeader(b, opMap, req.lifetimeSeconds, req.clientAddress);
  writeMap(b, req);
  return b;
}

function protocolOf(n: number): PortMappingProtocol | undefined {
  return n === 17 ? 'udp' : n === 6 ? 'tcp' : undefined;
}

/** Gateway side: a client's request, or undefined for anything this codec does not take. */
function decodePcpRequest(data: Uint8Array): PcpRequest | undefined {
  if (data.length < headerBytes || data.length > maxDatagramBytes || data.length % 4 !== 0) {
    return undefined;
  }
  if (data[0] !== pcpVersion || (data[1] & 0x80) !== 0) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const clientAddress = ipv4FromMapped(data, 8);
  if (clientAddress == null) return undefined;
  if (data[1] === opAnnounce) return { opcode: 'announce', clientAddress };
  if (data[1] !== opMap || data.length < headerBytes + mapBytes) return undefined;
  const protocol = protocolOf(data[headerBytes + 12]);
  const externalAddress = ipv4FromMapped(data, headerBytes + 20);
  const internalPort = v.getUint16(headerBytes + 16);
  if (protocol == null || externalAddress == null || internalPort === 0) return undefined;
  return {
    opcode: 'map',
    clientAddress,
    lifetimeSeconds: v.getUint32(4),
    nonce: data.slice(headerBytes, headerBytes + nonceBytes),
    protocol,
    internalPort,
    externalPort: v.getUint16(headerBytes + 18),
    externalAddress,
  };
}

/** Gateway side: encodes a response; an error MAP response echoes the nonce when given one. */
function encodePcpResponse(res: PcpResponse): Uint8Array {
  const opcode = res.opcode === 'announce' ? opAnnounce : opMap;
  const withMap = opcode === opMap && (res.ok || res.nonce != null);
  const b = new Uint8Array(headerBytes + (withMap ? mapBytes : 0));
  const v = new DataView(b.buffer);
  b[0] = pcpVersion;
  b[1] = 0x80 | opcode;
  b[3] = res.ok ? 0 : res.resultCode;
  v.setUint32(4, res.lifetimeSeconds);
  v.setUint32(8, res.epoch >>> 0);
  if (res.ok && res.opcode === 'map') writeMap(b, res);
  else if (!res.ok && res.nonce != null && withMap)
    b.set(res.nonce.subarray(0, nonceBytes), headerBytes);
  return b;
}

/** Options after the opcode body: each is code, reserved, length, data padded to 4 bytes. */
function checkOptions(data: Uint8Array, offset: number): void {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let i = offset;
  while (i < data.length) {
    if (i + 4 > data.length) throw invalid('truncated option header');
    const length = v.getUint16(i + 2);
    const padded = (length + 3) & ~3;
    if (i + 4 + padded > data.length) throw invalid(`option ${data[i]} overruns the datagram`);
    i += 4 + padded;
  }
}

/** Client side: a gateway's response. Throws `ErrorUPnPResponseInvalid`. */
function decodePcpResponse(data: Uint8Array): PcpResponse {
  if (!(data instanceof Uint8Array)) throw invalid('not bytes');
  if (data.length > maxDatagramBytes) {
    throw new ErrorUPnPResponseTooLarge(`PCP: ${data.length} bytes, over ${maxDatagramBytes}`, {
      data: { method: 'pcp', reason: 'too large' },
    });
  }
  // A NAT-PMP-only server answers a PCP request in NAT-PMP's format, version 0 (RFC 6887 §9).
  if (data.length >= 8 && data[0] === 0 && data[1] >= 128) {
    const v0 = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return {
      ok: false,
      opcode: (data[1] & 0x7f) === opMap ? 'map' : 'announce',
      resultCode: 1,
      lifetimeSeconds: 0,
      epoch: v0.getUint32(4),
      natPmpOnly: true,
    };
  }
  if (data.length < headerBytes) throw invalid(`${data.length} bytes, under the 24-byte header`);
  if (data.length % 4 !== 0) throw invalid(`${data.length} bytes, not a multiple of 4`);
  if (data[0] !== pcpVersion) throw invalid(`version ${data[0]}, not 2`);
  if ((data[1] & 0x80) === 0) throw invalid('a request, not a response (R bit clear)');
  const op = data[1] & 0x7f;
  if (op !== opAnnounce && op !== opMap) throw invalid(`unknown opcode ${op}`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const resultCode = data[3];
  const lifetimeSeconds = v.getUint32(4);
  const epoch = v.getUint32(8);
  const opcode = op === opMap ? 'map' : 'announce';
  if (resultCode !== 0) {
    const nonce =
      op === opMap && data.length >= headerBytes + mapBytes
        ? data.slice(headerBytes, headerBytes + nonceBytes)
        : undefined;
    return { ok: false, opcode, resultCode, lifetimeSeconds, epoch, nonce };
  }
  if (op === opAnnounce) {
    checkOptions(data, headerBytes);
    return { ok: true, opcode: 'announce', lifetimeSeconds, epoch };
  }
  if (data.length < headerBytes + mapBytes) throw invalid(`MAP response of ${data.length} bytes`);
  checkOptions(data, headerBytes + mapBytes);
  const protocol = protocolOf(data[headerBytes + 12]);
  if (protocol == null) throw invalid(`protocol ${data[headerBytes + 12]} is neither UDP nor TCP`);
  const internalPort = v.getUint16(headerBytes + 16);
  const externalPort = v.getUint16(headerBytes + 18);
  const externalAddress = ipv4FromMapped(data, headerBytes + 20);
  if (internalPort === 0) throw invalid('MAP response for internal port 0');
  if (lifetimeSeconds > 0 && externalPort === 0)
    throw invalid('mapping granted on external port 0');
  if (externalAddress == null) throw invalid('assigned external address is not IPv4');
  return {
    ok: true,
    opcode: 'map',
    lifetimeSeconds,
    epoch,
    nonce: data.slice(headerBytes, headerBytes + nonceBytes),
    protocol,
    internalPort,
    externalPort,
    externalAddress,
  };
}

export {
  pcpResultCodes,
  nonceBytes as pcpNonceBytes,
  encodePcpRequest,
  decodePcpRequest,
  encodePcpResponse,
  decodePcpResponse,
};
export type { PcpRequest, PcpResponse, PcpMap };
