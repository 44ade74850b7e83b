import type { Address, NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { addresses as addressUtils } from '@node-network/transport';
import * as errors from './errors.js';

/**
 * Seed nodes as the facade accepts them: `nodeId@host:port` strings
 * (`v0abc…@198.51.100.7:1314`, `v0abc…@[2001:db8::7]:1314`,
 * `v0abc…@seed.example.net:1314`; one string per address, repeat the NodeId
 * for more), or a record NodeId text -> addresses. Hostnames are resolved
 * when the node starts and again at `bootstrap`.
 */
type SeedNodes = ReadonlyArray<string> | Readonly<Record<string, ReadonlyArray<string>>>;

/**
 * Parses seed nodes into NodeIds and addresses (merged per NodeId, in the
 * order given). Throws `ErrorNodeNetworkConfig` naming the bad entry.
 */
type Seed = {
  nodeId: NodeId;
  addresses: Array<Address>;
  /** Hostname addresses, to resolve. */
  hostnames: Array<{ host: string; port: number }>;
};

/** A DNS name (RFC 1123 labels), lower-cased; undefined for anything else. */
function parseHostname(text: string): string | undefined {
  if (text.length === 0 || text.length > 253) return undefined;
  const labels = text.toLowerCase().replace(/\.$/, '').split('.');
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  if (!labels.every((l) => label.test(l))) return undefined;
  // All-numeric last label: a malformed IPv4 literal, not a name.
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return undefined;
  return labels.join('.');
}

function parseSeedNodes(seeds: SeedNodes): Array<Seed> {
  const pairs: Array<[string, string, string]> = [];
  if (Array.isArray(seeds)) {
    for (const s of seeds as ReadonlyArray<string>) {
      const text = String(s);
      const at = text.indexOf('@');
      if (at <= 0) {
        throw new errors.ErrorNodeNetworkConfig(
          `A seed node is NODEID@HOST:PORT (e.g. v0abc…@198.51.100.7:1314), got ${JSON.stringify(text)}`,
        );
      }
      pairs.push([text.slice(0, at), text.slice(at + 1), text]);
    }
  } else {
    for (const [id, addrs] of Object.entries(seeds)) {
      if (!Array.isArray(addrs)) {
        throw new errors.ErrorNodeNetworkConfig(`Seed node ${id}: addresses must be an array`);
      }
      for (const a of addrs) pairs.push([id, String(a), `${id}@${a}`]);
    }
  }
  const out = new Map<string, Seed>();
  for (const [idText, addrText, whole] of pairs) {
    let nodeId: NodeId;
    let address: Address | undefined;
    let hostname: { host: string; port: number } | undefined;
    try {
      nodeId = identity.decodeNodeId(idText);
      const m = /^([^:[\]]+):(\d{1,5})$/.exec(addrText);
      const name = m != null ? parseHostname(m[1]) : undefined;
      if (m != null && name != null) {
        hostname = { host: name, port: Number(m[2]) };
        if (hostname.port > 65535) throw new Error(`Not a port: ${m[2]}`);
      } else {
        address = addressUtils.parseAddress(addrText);
      }
      if ((address ?? hostname)!.port === 0) throw new Error('port 0 cannot be dialled');
    } catch (e) {
      throw new errors.ErrorNodeNetworkConfig(
        `Invalid seed node ${whole}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const key = identity.encodeNodeId(nodeId);
    const entry = out.get(key) ?? { nodeId, addresses: [], hostnames: [] };
    if (address != null && !entry.addresses.some((b) => addressUtils.addressEquals(address, b))) {
      entry.addresses.push(address);
    }
    if (
      hostname != null &&
      !entry.hostnames.some((h) => h.host === hostname.host && h.port === hostname.port)
    ) {
      entry.hostnames.push(hostname);
    }
    out.set(key, entry);
  }
  return [...out.values()];
}

export { parseSeedNodes };
export type { SeedNodes, Seed };
