/**
 * NAT-PMP (RFC 6886) messages, both directions: the client's requests and
 * the gateway's responses (the gateway side serves the tests' hostile
 * gateway and the round-trip properties). Decoders accept only what the RFC
 * allows and throw `ErrorUPnPResponseInvalid` for anything else.
 */
import type { PortMappingProtocol } from '../types.js';
import { ErrorUPnPResponseInvalid, ErrorUPnPResponseTooLarge } from '../errors.js';
import { ipv4FromBytes, ipv4ToBytes, isIPv4 } from './ipv4.js';

/** The gateway listens here (PCP shares the port). */
const natPmpPort = 5351;
/** Largest datagram either protocol sends (RFC 6887 §7); anything longer is refused unread. */
const maxDatagramBytes = 1100;

const opExternalAddress = 0;
const opMapUdp = 1;
const opMapTcp = 2;

/** RFC 6886 §3.5 result codes. */
const natPmpResultCodes: Record<number, string> = {
  0: 'Success',
  1: 'Unsupported Version',
  2: 'Not Authorized/Refused',
  3: 'Network Failure',
  4: 'Out of resources',
  5: 'Unsupported opcode',
};

type NatPmpRequest =
  | { op: 'external-address' }
  | {
      op: 'map';
      protocol: PortMappingProtocol;
      internalPort: number;
      /** 0: no preference. */
      externalPort: number;
      /** 0 deletes the mapping. */
      lifetimeSeconds: number;
    };

type NatPmpResponse =
  | { ok: true; op: 'external-address'; epoch: number; externalAddress: string }
  | {
      ok: true;
      op: 'map';
      protocol: PortMappingProtocol;
      epoch: number;
      internalPort: number;
      externalPort: number;
      lifetimeSeconds: number;
    }
  /** A non-zero result code: the other fields are undefined by the RFC and not read. */
  | {
      ok: false;
      op: 'external-address' | 'map';
      protocol?: PortMappingProtocol;
      resultCode: number;
      epoch: number;
    };

function invalid(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`NAT-PMP: ${reason}`, { data: { method: 'natpmp', reason } });
}

function isPort(n: number, allowZero: boolean): boolean {
  return Number.isInteger(n) && n >= (allowZero ? 0 : 1) && n <= 0xffff;
}

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function encodeNatPmpRequest(req: NatPmpRequest): Uint8Array {
  if (req.op === 'external-address') return Uint8Array.from([0, opExternalAddress]);
  if (!isPort(req.internalPort, false)) throw new RangeError(`internal port ${req.internalPort}`);
  if (!isPort(req.externalPort, true)) throw new RangeError(`external port ${req.externalPort}`);
  if (!isUint32(req.lifetimeSeconds)) throw new RangeError(`lifetime ${req.lifetimeSeconds}`);
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  b[0] = 0;
  b[1] = req.protocol === 'udp' ? opMapUdp : opMapTcp;
  v.setUint16(4, req.internalPort);
  v.setUint16(6, req.externalPort);
  v.setUint32(8, req.lifetimeSeconds);
  return b;
}

/** Gateway side: a client's request, or undefined for anything that is not one. */
function decodeNatPmpRequest(data: Uint8Array): NatPmpRequest | undefined {
  if (data.length < 2 || data.length > maxDatagramBytes || data[0] !== 0) return undefined;
  if (data[1] === opExternalAddress)
    return data.length === 2 ? { op: 'external-address' } : undefined;
  if ((data[1] !== opMapUdp && data[1] !== opMapTcp) || data.length !== 12) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const internalPort = v.getUint16(4);
  if (internalPort === 0) return undefined;
  return {
    op: 'map',
    protocol: data[1] === opMapUdp ? 'udp' : 'tcp',
    internalPort,
    externalPort: v.getUint16(6),
    lifetimeSeconds: v.getUint32(8),
  };
}

/** Gateway side: encodes a response (a non-zero result code is sent as a short 8-byte error). */
function encodeNatPmpResponse(res: NatPmpResponse): Uint8Array {
  const op =
    res.op === 'external-address'
      ? opExternalAddress
      : res.protocol === 'tcp'
        ? opMapTcp
        : opMapUdp;
  const length = !res.ok ? 8 : res.op === 'external-address' ? 12 : 16;
  const b = new Uint8Array(length);
  const v = new DataView(b.buffer);
  b[0] = 0;
  b[1] = 128 + op;
  v.setUint16(2, res.ok ? 0 : res.resultCode);
  v.setUint32(4, res.epoch >>> 0);
  if (!res.ok) return b;
  if (res.op === 'external-address') b.set(ipv4ToBytes(res.externalAddress), 8);
  else {
    v.setUint16(8, res.internalPort);
    v.setUint16(10, res.externalPort);
    v.setUint32(12, res.lifetimeSeconds);
  }
  return b;
}

/** Client side: a gateway's response. Throws `ErrorUPnPResponseInvalid`. */
function decodeNatPmpResponse(data: Uint8Array): NatPmpResponse {
  if (!(data instanceof Uint8Array)) throw invalid('not bytes');
  if (data.length > maxDatagramBytes) {
    throw new ErrorUPnPResponseTooLarge(`NAT-PMP: ${data.length} bytes, over ${maxDatagramBytes}`, {
      data: { method: 'natpmp', reason: 'too large' },
    });
  }
  if (data.length < 8) throw invalid(`${data.length} bytes, under the 8-byte header`);
  if (data[0] !== 0) throw invalid(`version ${data[0]}, not 0`);
  const opcode = data[1];
  if (opcode < 128) throw invalid(`opcode ${opcode} is a request, not a response`);
  const op = opcode - 128;
  if (op !== opExternalAddress && op !== opMapUdp && op !== opMapTcp) {
    throw invalid(`unknown response opcode ${opcode}`);
  }
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const resultCode = v.getUint16(2);
  const epoch = v.getUint32(4);
  const protocol: PortMappingProtocol | undefined =
    op === opMapUdp ? 'udp' : op === opMapTcp ? 'tcp' : undefined;
  if (resultCode !== 0) {
    return protocol == null
      ? { ok: false, op: 'external-address', resultCode, epoch }
      : { ok: false, op: 'map', protocol, resultCode, epoch };
  }
  if (op === opExternalAddress) {
    if (data.length !== 12)
      throw invalid(`external address response of ${data.length} bytes, not 12`);
    const externalAddress = ipv4FromBytes(data, 8);
    if (!isIPv4(externalAddress)) throw invalid('external address is not IPv4');
    return { ok: true, op: 'external-address', epoch, externalAddress };
  }
  if (data.length !== 16) throw invalid(`mapping response of ${data.length} bytes, not 16`);
  const internalPort = v.getUint16(8);
  const externalPort = v.getUint16(10);
  const lifetimeSeconds = v.getUint32(12);
  if (internalPort === 0) throw invalid('mapping response for internal port 0');
  if (lifetimeSeconds > 0 && externalPort === 0) {
    throw invalid('mapping granted on external port 0');
  }
  return {
    ok: true,
    op: 'map',
    protocol: protocol!,
    epoch,
    internalPort,
    externalPort,
    lifetimeSeconds,
  };
}

export {
  natPmpPort,
  maxDatagramBytes,
  natPmpResultCodes,
  encodeNatPmpRequest,
  decodeNatPmpRequest,
  encodeNatPmpResponse,
  decodeNatPmpResponse,
};
export type { NatPmpRequest, NatPmpResponse };
