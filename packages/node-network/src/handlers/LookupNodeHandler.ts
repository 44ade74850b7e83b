import type { NodeId } from '@node-network/network-interface';
import { UnaryHandler } from '@node-network/transport';
import { requestNodeId } from './utils.js';

type LookupNodeRequest = { nodeId: string };
type LookupNodeResponse = { addresses: Array<string> };

/** The most addresses one answer carries. */
const maxAddresses = 16;

/**
 * `lookupNode`: the addresses this node knows for a NodeId: where it sees
 * the node's live connection come from (its reflexive address toward us)
 * first, then the addresses it was told. A one-hop lookup; Kademlia lookups
 * over the NodeGraph replace it.
 */
class LookupNodeHandler extends UnaryHandler<
  { lookup: (nodeId: NodeId) => Array<string> },
  LookupNodeRequest,
  LookupNodeResponse
> {
  public handle = async (input: LookupNodeRequest): Promise<LookupNodeResponse> => {
    const nodeId = requestNodeId(input, 'lookupNode');
    return { addresses: this.container.lookup(nodeId).slice(0, maxAddresses) };
  };
}

export default LookupNodeHandler;
export type { LookupNodeRequest, LookupNodeResponse };
