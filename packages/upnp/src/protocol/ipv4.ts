/**
 * IPv4 text and byte forms as the gateways' protocols carry them, and
 * whether an address is public (routable on the internet).
 */

/** Strict dotted-quad: four decimal parts 0-255, no leading zeros, nothing else. */
function parseIPv4(text: string): [number, number, number, number] | undefined {
  if (typeof text !== 'string' || text.length > 15) return undefined;
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: Array<number> = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out as [number, number, number, number];
}

function isIPv4(text: string): boolean {
  return parseIPv4(text) != null;
}

function ipv4FromBytes(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** The four bytes of `text`; throws a plain Error for non-IPv4 (callers validate first). */
function ipv4ToBytes(text: string): Uint8Array {
  const p = parseIPv4(text);
  if (p == null) throw new Error(`Not an IPv4 address: ${text}`);
  return Uint8Array.from(p);
}

/** `::ffff:a.b.c.d` as 16 bytes (PCP carries IPv4 this way). */
function ipv4MappedToBytes(text: string): Uint8Array {
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  b.set(ipv4ToBytes(text), 12);
  return b;
}

/** The IPv4 address in an IPv4-mapped IPv6 address, or undefined if it is not one. */
function ipv4FromMapped(b: Uint8Array, offset = 0): string | undefined {
  for (let i = 0; i < 10; i++) if (b[offset + i] !== 0) return undefined;
  if (b[offset + 10] !== 0xff || b[offset + 11] !== 0xff) return undefined;
  return ipv4FromBytes(b, offset + 12);
}

/** [network, prefix length]: ranges that are not reachable on the public internet. */
const nonPublicRanges: Array<[[number, number, number, number], number]> = [
  [[0, 0, 0, 0], 8], // "this network"
  [[10, 0, 0, 0], 8], // private
  [[100, 64, 0, 0], 10], // shared address space (CGNAT)
  [[127, 0, 0, 0], 8], // loopback
  [[169, 254, 0, 0], 16], // link-local
  [[172, 16, 0, 0], 12], // private
  [[192, 0, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2, 0], 24], // documentation
  [[192, 88, 99, 0], 24], // 6to4 relay anycast (deprecated)
  [[192, 168, 0, 0], 16], // private
  [[198, 18, 0, 0], 15], // benchmarking
  [[198, 51, 100, 0], 24], // documentation
  [[203, 0, 113, 0], 24], // documentation
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved and broadcast
];

function toUint32(p: ArrayLike<number>): number {
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Whether `text` is an IPv4 address routable on the internet (none of the special ranges). */
function isPublicIPv4(text: string): boolean {
  const p = parseIPv4(text);
  if (p == null) return false;
  const a = toUint32(p);
  for (const [net, len] of nonPublicRanges) {
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if ((a & mask) >>> 0 === toUint32(net)) return false;
  }
  return true;
}

export {
  parseIPv4,
  isIPv4,
  ipv4FromBytes,
  ipv4ToBytes,
  ipv4MappedToBytes,
  ipv4FromMapped,
  isPublicIPv4,
};
