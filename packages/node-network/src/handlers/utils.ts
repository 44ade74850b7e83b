import type { NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { errors as transportErrors } from '@node-network/transport';

/** The NodeId a request names in `nodeId`, or a typed refusal of the request. */
function requestNodeId(input: unknown, method: string): NodeId {
  const text = (input as { nodeId?: unknown } | undefined)?.nodeId;
  if (typeof text !== 'string' || text.length > 100) {
    throw new transportErrors.ErrorRPCRequestInvalid(`${method} needs a NodeId string`);
  }
  try {
    return identity.decodeNodeId(text);
  } catch (e) {
    throw new transportErrors.ErrorRPCRequestInvalid(`${method}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

export { requestNodeId };
