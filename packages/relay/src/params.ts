import type { NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import * as errors from './errors.js';

/** The NodeId in `input[field]` of a relay request; `ErrorRelayRequestInvalid` when it is not one. */
function nodeIdParam(input: unknown, field: string, method: string): NodeId {
  const text = (input as Record<string, unknown> | undefined)?.[field];
  if (typeof text !== 'string' || text.length > 100) {
    throw new errors.ErrorRelayRequestInvalid(`${method} needs a NodeId string in ${field}`);
  }
  try {
    return identity.decodeNodeId(text);
  } catch (e) {
    throw new errors.ErrorRelayRequestInvalid(`${method}: ${(e as Error).message}`, { cause: e });
  }
}

export { nodeIdParam };
