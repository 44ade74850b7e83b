import type { NodeIdEncoded } from '@node-network/network-interface';
import { ErrorNetworkIdInvalid } from './errors.js';
import { decodeNodeId, encodeNodeId, nodeIdFromPublicKey } from './nodeId.js';
import { show } from './utils.js';

/** A private network is named by its authority's public key (NodeId text). */
type PrivateNetworkId = `private:${NodeIdEncoded}`;

/**
 * Which network a node belongs to. Nodes of different networks never
 * complete a connection. `mainnet` and `testnet` are open; a private network
 * admits a node only with a membership claim signed by its authority.
 */
type NetworkId = 'mainnet' | 'testnet' | PrivateNetworkId;

function privateNetworkId(authorityPublicKey: Uint8Array): PrivateNetworkId {
  return `private:${encodeNodeId(nodeIdFromPublicKey(authorityPublicKey))}`;
}

function parseNetworkId(text: unknown): NetworkId {
  if (text === 'mainnet' || text === 'testnet') return text;
  if (typeof text === 'string' && text.startsWith('private:')) {
    try {
      decodeNodeId(text.slice('private:'.length));
    } catch (e) {
      throw new ErrorNetworkIdInvalid(
        `Private network id names no valid authority: ${show(text)}`,
        {
          cause: e,
        },
      );
    }
    return text as PrivateNetworkId;
  }
  throw new ErrorNetworkIdInvalid(
    `Network id is 'mainnet', 'testnet' or 'private:<authority NodeId>', got ${show(text)}`,
  );
}

function isPrivateNetwork(network: NetworkId): network is PrivateNetworkId {
  return network.startsWith('private:');
}

/** The authority's public key of a private network. */
function networkAuthority(network: PrivateNetworkId): Uint8Array {
  return decodeNodeId(network.slice('private:'.length));
}

export type { NetworkId, PrivateNetworkId };
export { privateNetworkId, parseNetworkId, isPrivateNetwork, networkAuthority };
