import type { Address, AddressFamily, Host, Port } from '@node-network/network-interface';
import { formatAddress, formatIPv6 } from '@node-network/network-interface';
import { isIPv4, isIPv6 } from 'node:net';
import { ErrorAddressInvalid } from './errors.js';

/**
 * Address utilities: parsing and normalising hosts and ports, scopes, and
 * the happy-eyeballs order in which a node's addresses are dialled.
 */

/** A short, never-throwing description of untrusted input for error messages. */
function show(x: unknown, max = 64): string {
  if (typeof x === 'string') return JSON.stringify(x.slice(0, max));
  if (typeof x === 'number' || typeof x === 'boolean' || x == null) return String(x);
  return `<${typeof x}>`;
}

type AddressScope = 'loopback' | 'link-local' | 'private' | 'global' | 'unspecified';

/** Parses an IPv4 literal into its 4 bytes, or undefined. */
function parseIPv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split('.').map((p) => Number(p)));
}

/** Parses an IPv6 literal (no zone, no brackets) into its 16 bytes, or undefined. */
function parseIPv6(text: string): Uint8Array | undefined {
  if (!isIPv6(text)) return undefined;
  let head = text;
  let v4Tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    v4Tail = parseIPv4(text.slice(lastColon + 1));
    if (v4Tail == null) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  const left = halves[0] === '' ? [] : halves[0].split(':');
  const right = halves.length > 1 && halves[1] !== '' ? halves[1].split(':') : [];
  const missing = 8 - left.length - right.length;
  const groups = [...left, ...new Array(halves.length > 1 ? missing : 0).fill('0'), ...right];
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  if (v4Tail != null) bytes.set(v4Tail, 12);
  return bytes;
}

function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

function isIPv4MappedBytes(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Normalises an IP literal: strips brackets, folds IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`) to plain IPv4, and gives IPv6 its canonical form.
 * Throws `ErrorAddressInvalid` for anything that is not an IP literal
 * (hostnames are not resolved here).
 */
function parseHost(text: unknown): Host {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) {
    throw new ErrorAddressInvalid(`Not an IP address: ${show(text)}`);
  }
  let t = text;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (t.includes('%')) {
    throw new ErrorAddressInvalid(`Scoped IPv6 addresses are not supported: ${t}`);
  }
  const v4 = parseIPv4(t);
  if (v4 != null) return formatIPv4(v4) as Host;
  const v6 = parseIPv6(t);
  if (v6 == null) throw new ErrorAddressInvalid(`Not an IP address: ${t}`);
  if (isIPv4MappedBytes(v6)) return formatIPv4(v6.subarray(12)) as Host;
  return formatIPv6(v6) as Host;
}

function parsePort(port: unknown): Port {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ErrorAddressInvalid(`Not a port: ${show(port)}`);
  }
  return port as Port;
}

function hostFamily(host: Host): AddressFamily {
  return isIPv4(host) ? 'ipv4' : 'ipv6';
}

/** Builds a normalised `Address`. Throws `ErrorAddressInvalid`. */
function toAddress(host: unknown, port: unknown): Address {
  const h = parseHost(host);
  return { host: h, port: parsePort(port), family: hostFamily(h) };
}

/** `parseAddress` for untrusted input: the address, or undefined for anything that is not one. */
function tryParseAddress(text: unknown): Address | undefined {
  try {
    return parseAddress(text);
  } catch {
    return undefined;
  }
}

/** Parses `1.2.3.4:5`, `[::1]:5`. Throws `ErrorAddressInvalid`. */
function parseAddress(text: unknown): Address {
  if (typeof text !== 'string' || text.length > 80) {
    throw new ErrorAddressInvalid(`Not an address: ${show(text, 80)}`);
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m == null) throw new ErrorAddressInvalid(`Not an address: ${text}`);
  const host = m[1] ?? m[2];
  if (m[1] != null && isIPv4(m[1])) {
    throw new ErrorAddressInvalid(`IPv4 address in brackets: ${text}`);
  }
  return toAddress(host, Number(m[3]));
}

function addressEquals(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}

function hostScope(host: Host): AddressScope {
  const v4 = parseIPv4(host);
  if (v4 != null) {
    if (v4[0] === 0) return 'unspecified';
    if (v4[0] === 127) return 'loopback';
    if (v4[0] === 169 && v4[1] === 254) return 'link-local';
    if (
      v4[0] === 10 ||
      (v4[0] === 172 && v4[1] >= 16 && v4[1] < 32) ||
      (v4[0] === 192 && v4[1] === 168) ||
      (v4[0] === 100 && v4[1] >= 64 && v4[1] < 128)
    ) {
      return 'private';
    }
    return 'global';
  }
  const v6 = parseIPv6(host)!;
  if (v6.every((b) => b === 0)) return 'unspecified';
  if (v6.subarray(0, 15).every((b) => b === 0) && v6[15] === 1) return 'loopback';
  if (v6[0] === 0xfe && (v6[1] & 0xc0) === 0x80) return 'link-local';
  if ((v6[0] & 0xfe) === 0xfc) return 'private';
  return 'global';
}

/**
 * Orders addresses for dialling the way happy eyeballs (RFC 8305) does:
 * duplicates removed, then alternating families starting with IPv6, keeping
 * each family's given order (callers list the best address first).
 */
function happyEyeballsOrder(addresses: ReadonlyArray<Address>): Array<Address> {
  const seen = new Set<string>();
  const v6: Array<Address> = [];
  const v4: Array<Address> = [];
  for (const a of addresses) {
    const key = formatAddress(a);
    if (seen.has(key)) continue;
    seen.add(key);
    (a.family === 'ipv6' ? v6 : v4).push(a);
  }
  const out: Array<Address> = [];
  for (let i = 0; i < Math.max(v6.length, v4.length); i++) {
    if (i < v6.length) out.push(v6[i]);
    if (i < v4.length) out.push(v4[i]);
  }
  return out;
}

export type { AddressScope };
export {
  parseHost,
  parsePort,
  hostFamily,
  toAddress,
  formatAddress,
  parseAddress,
  tryParseAddress,
  addressEquals,
  hostScope,
  happyEyeballsOrder,
  parseIPv4,
  parseIPv6,
  formatIPv6,
};
