import type { NodeId } from '@node-network/network-interface';
import { UnaryHandler } from '@node-network/transport';
import { requestNodeId } from './utils.js';

type WireContact = { nodeId: string; addresses: Array<string> };

/**
 * `closestNodes`: the contacts of our NodeGraph closest to a NodeId (at most
 * `k`, each with at most 8 addresses): one step of a Kademlia lookup.
 */
class ClosestNodesHandler extends UnaryHandler<
  { closest: (target: NodeId) => Promise<Array<WireContact>> },
  { nodeId: string },
  { contacts: Array<WireContact> }
> {
  public handle = async (input: { nodeId: string }): Promise<{ contacts: Array<WireContact> }> => {
    const target = requestNodeId(input, 'closestNodes');
    return { contacts: await this.container.closest(target) };
  };
}

export default ClosestNodesHandler;
export type { WireContact };
