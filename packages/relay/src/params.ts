import type { NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { errors as transportErrors } from '@node-network/transport';
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

/**
 * What a relay's refusal looks like on A's side (stream or datagram circuit):
 * a typed relay error carrying its reason; `what` names the refusal.
 */
function refusalOf(e: unknown, relayText: string, what = 'refused'): Error {
  const err = e as Error & { data?: { name?: string } };
  const name = err instanceof transportErrors.ErrorRPCRemote ? err.data?.name : undefined;
  const message = `Relay ${relayText} ${what}: ${err.message}`;
  switch (name) {
    case 'ErrorRelayTargetUnreachable':
      return new errors.ErrorRelayTargetUnreachable(message, { cause: e });
    case 'ErrorRelayQuotaExceeded':
      return new errors.ErrorRelayQuotaExceeded(message, { cause: e });
    case 'ErrorRelayDatagramUnavailable':
      return new errors.ErrorRelayDatagramUnavailable(message, { cause: e });
    case undefined:
      return e instanceof baseErrors.ErrorNodeNetwork
        ? e
        : new errors.ErrorRelayRefused(message, { cause: e });
    default:
      return new errors.ErrorRelayRefused(message, { cause: e });
  }
}

export { nodeIdParam, refusalOf };
