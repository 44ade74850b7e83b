import type { NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { UnaryHandler, errors as transportErrors } from '@node-network/transport';

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
    if (typeof input?.nodeId !== 'string' || input.nodeId.length > 100) {
      throw new transportErrors.ErrorRPCRequestInvalid('lookupNode needs a NodeId string');
    }
    let nodeId: NodeId;
    try {
      nodeId = identity.decodeNodeId(input.nodeId);
    } catch (e) {
      throw new transportErrors.ErrorRPCRequestInvalid(`lookupNode: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return { addresses: this.container.lookup(nodeId).slice(0, maxAddresses) };
  };
}

export default LookupNodeHandler;
export type { LookupNodeRequest, LookupNodeResponse };
