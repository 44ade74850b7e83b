import type { Address, NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { addresses as addressUtils } from '@node-network/transport';
import * as errors from './errors.js';

/**
 * Seed nodes as the facade accepts them: `nodeId@host:port` strings
 * (`v0abc…@198.51.100.7:1314`, `v0abc…@[2001:db8::7]:1314`; one string per
 * address, repeat the NodeId for more), or a record NodeId text -> addresses.
 */
type SeedNodes = ReadonlyArray<string> | Readonly<Record<string, ReadonlyArray<string>>>;

/**
 * Parses seed nodes into NodeIds and addresses (merged per NodeId, in the
 * order given). Throws `ErrorNodeNetworkConfig` naming the bad entry.
 */
function parseSeedNodes(seeds: SeedNodes): Array<{ nodeId: NodeId; addresses: Array<Address> }> {
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
  const out = new Map<string, { nodeId: NodeId; addresses: Array<Address> }>();
  for (const [idText, addrText, whole] of pairs) {
    let nodeId: NodeId;
    let address: Address;
    try {
      nodeId = identity.decodeNodeId(idText);
      address = addressUtils.parseAddress(addrText);
      if (address.port === 0) throw new Error('port 0 cannot be dialled');
    } catch (e) {
      throw new errors.ErrorNodeNetworkConfig(
        `Invalid seed node ${whole}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const key = identity.encodeNodeId(nodeId);
    const entry = out.get(key) ?? { nodeId, addresses: [] };
    if (!entry.addresses.some((b) => addressUtils.addressEquals(address, b))) {
      entry.addresses.push(address);
    }
    out.set(key, entry);
  }
  return [...out.values()];
}

export { parseSeedNodes };
export type { SeedNodes };
