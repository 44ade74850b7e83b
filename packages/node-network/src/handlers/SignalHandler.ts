import type { Address, NodeId } from '@node-network/network-interface';
import type { JSONValue } from '@matrixai/rpc';
import * as identity from '@node-network/network-identity';
import { UnaryHandler, addresses as addressUtils } from '@node-network/transport';

/**
 * `signal`: a signal request for a connection (see NodeSignalling). The
 * caller is the connection's authenticated peer; where we see it comes from
 * the connection, never from the request.
 */
class SignalHandler extends UnaryHandler<
  {
    handle: (
      input: unknown,
      from: { nodeId: NodeId; address: Address; relayed: boolean },
      ctx: { signal?: AbortSignal },
    ) => Promise<object>;
  },
  any,
  any
> {
  public handle = async (
    input: any,
    _cancel: (reason?: unknown) => void,
    meta: Record<string, JSONValue> | undefined,
    ctx?: { signal?: AbortSignal },
  ): Promise<any> => {
    const from = {
      nodeId: identity.decodeNodeId(String(meta?.remoteNodeId)),
      address: addressUtils.toAddress(meta?.remoteHost, Number(meta?.remotePort)),
      relayed: meta?.path === 'relayed' || meta?.path === 'websocket',
    };
    return this.container.handle(input, from, { signal: ctx?.signal });
  };
}

export default SignalHandler;
