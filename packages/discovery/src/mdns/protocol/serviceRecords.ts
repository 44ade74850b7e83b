import type { DnsRecord } from './dnsCodec.js';
import { RType, nameKey } from './dnsCodec.js';
import { isLinkLocalIPv6 } from './ip.js';

/** Our DNS-SD service type (RFC 6763 7: `_<name>._udp`, name at most 15 characters). */
const serviceName = 'node-network';
const serviceType = `_${serviceName}._udp`;
const serviceDomain = `${serviceType}.local`;
const servicesEnumeration = '_services._dns-sd._udp.local';

/** RFC 6762 10: 120 s for records naming a host (SRV, A, AAAA), 75 min for the rest. */
const hostTtl = 120;
const otherTtl = 4500;

/** What a node advertises: its instance (the NodeId text), TXT pairs, port and the host's addresses. */
type ServiceAdvert = {
  instance: string;
  port: number;
  txt: Record<string, string>;
  /** Our own responder's host name (without `.local`); avahi uses its own. */
  host: string;
  addresses: Array<string>;
};

/** A service instance as browsing saw it, complete (PTR, SRV, TXT and at least one address). */
type ServiceSighting = {
  instance: string;
  port: number;
  host: string;
  txt: Record<string, string>;
  /** Address literals; link-local IPv6 ones carry `%<interface>` when the interface is known. */
  addresses: Array<string>;
};

function instanceFqdn(instance: string): string {
  return `${instance}.${serviceDomain}`;
}

/** The instance label of `name` when it names an instance of our service, else undefined. */
function instanceOf(name: string): string | undefined {
  const suffix = `.${nameKey(serviceDomain)}`;
  const key = nameKey(name);
  if (!key.endsWith(suffix)) return undefined;
  const label = name.slice(0, name.length - suffix.length);
  return label === '' || label.includes('.') ? undefined : label;
}

/** RFC 6763 6: TXT strings `key=value`; keys compared case-insensitively, the first occurrence wins. */
function encodeTxt(txt: Record<string, string>): Array<Uint8Array> {
  return Object.entries(txt).map(([k, v]) => Buffer.from(`${k}=${v}`, 'utf8'));
}

function decodeTxt(strings: ReadonlyArray<Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of strings) {
    const text = Buffer.from(s).toString('utf8');
    const eq = text.indexOf('=');
    if (eq <= 0) continue;
    const key = text.slice(0, eq).toLowerCase();
    if (!Object.prototype.hasOwnProperty.call(out, key)) out[key] = text.slice(eq + 1);
  }
  return out;
}

/**
 * Our records (RFC 6763 4-6, RFC 6762 10): PTR service -> instance and the
 * service-type enumeration PTR (shared), SRV and TXT of the instance and
 * the host's A/AAAA (unique: sent with the cache-flush bit).
 */
function advertRecords(a: ServiceAdvert, ttlScale: 1 | 0 = 1): Array<DnsRecord> {
  const inst = instanceFqdn(a.instance);
  const host = `${a.host}.local`;
  const ttl = (t: number) => t * ttlScale;
  const records: Array<DnsRecord> = [
    {
      name: serviceDomain,
      type: RType.PTR,
      cacheFlush: false,
      ttl: ttl(otherTtl),
      data: { kind: 'PTR', name: inst },
    },
    {
      name: servicesEnumeration,
      type: RType.PTR,
      cacheFlush: false,
      ttl: ttl(otherTtl),
      data: { kind: 'PTR', name: serviceDomain },
    },
    {
      name: inst,
      type: RType.SRV,
      cacheFlush: true,
      ttl: ttl(hostTtl),
      data: { kind: 'SRV', priority: 0, weight: 0, port: a.port, target: host },
    },
    {
      name: inst,
      type: RType.TXT,
      cacheFlush: true,
      ttl: ttl(otherTtl),
      data: { kind: 'TXT', strings: encodeTxt(a.txt) },
    },
  ];
  for (const address of a.addresses) {
    const v6 = address.includes(':');
    records.push({
      name: host,
      type: v6 ? RType.AAAA : RType.A,
      cacheFlush: true,
      ttl: ttl(hostTtl),
      data: v6 ? { kind: 'AAAA', address: address.split('%')[0] } : { kind: 'A', address },
    });
  }
  return records;
}

/** Adds the interface as zone to link-local IPv6 literals (they mean nothing without it). */
function withZone(address: string, iface: string | undefined): string {
  if (!isLinkLocalIPv6(address) || address.includes('%')) return address;
  return iface != null ? `${address}%${iface}` : address;
}

export {
  serviceName,
  serviceType,
  serviceDomain,
  servicesEnumeration,
  hostTtl,
  otherTtl,
  instanceFqdn,
  instanceOf,
  encodeTxt,
  decodeTxt,
  advertRecords,
  withZone,
};
export type { ServiceAdvert, ServiceSighting };
