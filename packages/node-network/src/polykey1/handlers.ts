import type { NodeId } from '@node-network/network-interface';
import type { JSONValue } from '@node-network/transport';
import type { NodeContact, PolykeyAddress } from './messages.js';
import * as identity from '@node-network/network-identity';
import { ServerHandler, UnaryHandler } from '@node-network/transport';
import * as messages from './messages.js';
import { ErrorPolykeyMessageInvalid } from '../errors.js';

/**
 * The Polykey 1.x agent networking methods, served by every node so 1.x
 * agents can look nodes up and signal through us. Requests go through
 * `messages`' codec; signatures are checked as 1.x checks them.
 */

function callerOf(meta: Record<string, JSONValue> | undefined): {
  nodeId: NodeId;
  address: PolykeyAddress;
} {
  return {
    nodeId: identity.decodeNodeId(String(meta?.remoteNodeId)),
    address: { host: String(meta?.remoteHost), port: Number(meta?.remotePort) },
  };
}

/** `nodesClosestLocalNodesGet`: our NodeGraph's closest contacts, as NodeContacts. */
class NodesClosestLocalNodesGetHandler extends ServerHandler<
  {
    closest: (target: NodeId) => Promise<Array<{ nodeId: string; addresses: Array<string> }>>;
    /** Wall-clock ms (the injected clock's), for the contacts' connected times. */
    now: () => number;
  },
  any,
  any
> {
  public handle = async function* (
    this: NodesClosestLocalNodesGetHandler,
    input: unknown,
  ): AsyncGenerator<{ nodeIdEncoded: string; nodeContact: NodeContact }> {
    const target = messages.parseNodeIdMessage(input);
    const now = this.container.now();
    for (const c of await this.container.closest(target)) {
      const nodeContact = messages.encodeNodeContact(c.addresses, now);
      if (Object.keys(nodeContact).length === 0) continue;
      yield { nodeIdEncoded: c.nodeId, nodeContact };
    }
  };
}

type ActiveConnection = { nodeId: NodeId; connectionId: string; address: PolykeyAddress };

/** `nodesClosestActiveConnectionsGet`: the nodes we hold connections to, closest first. */
class NodesClosestActiveConnectionsGetHandler extends ServerHandler<
  { connections: (target: NodeId) => Array<ActiveConnection> },
  any,
  any
> {
  public handle = async function* (
    this: NodesClosestActiveConnectionsGetHandler,
    input: unknown,
  ): AsyncGenerator<{ nodeId: string; connections: Record<string, JSONValue> }> {
    const target = messages.parseNodeIdMessage(input);
    for (const c of this.container.connections(target)) {
      yield {
        nodeId: identity.encodeNodeId(c.nodeId),
        connections: {
          [c.connectionId]: { host: c.address.host, port: c.address.port, primary: true },
        },
      };
    }
  };
}

/**
 * `nodesConnectionSignalInitial`: a caller asks us to signal a node we hold
 * a connection to. Its signature over `<caller><target>` is checked; we
 * send the target `nodesConnectionSignalFinal` with our relay signature and
 * answer where the target's connection comes from.
 */
class NodesConnectionSignalInitialHandler extends UnaryHandler<
  {
    relay: (
      source: NodeId,
      target: NodeId,
      sourceAddress: PolykeyAddress,
      requestSignature: Uint8Array,
    ) => Promise<PolykeyAddress>;
  },
  any,
  any
> {
  public handle = async (
    input: unknown,
    _cancel: (reason?: unknown) => void,
    meta: Record<string, JSONValue> | undefined,
  ): Promise<PolykeyAddress> => {
    const m = messages.parseSignalInitial(input);
    const caller = callerOf(meta);
    if (
      !identity.verify(
        caller.nodeId,
        messages.signalRequestData(caller.nodeId, m.target),
        m.signature,
      )
    ) {
      throw new ErrorPolykeyMessageInvalid('signal request signature does not verify');
    }
    return this.container.relay(caller.nodeId, m.target, caller.address, m.signature);
  };
}

/**
 * `nodesConnectionSignalFinal`: a relay tells us a node wants to connect from
 * `address`. Both signatures are checked (the source's, and the relay's: the
 * caller); then we punch toward the address.
 */
class NodesConnectionSignalFinalHandler extends UnaryHandler<
  { punch: (source: NodeId, address: PolykeyAddress) => void },
  any,
  any
> {
  public handle = async (
    input: unknown,
    _cancel: (reason?: unknown) => void,
    meta: Record<string, JSONValue> | undefined,
  ): Promise<{}> => {
    const m = messages.parseSignalFinal(input);
    messages.verifySignalFinal(m, callerOf(meta).nodeId);
    this.container.punch(m.source, m.address);
    return {};
  };
}

export {
  NodesClosestLocalNodesGetHandler,
  NodesClosestActiveConnectionsGetHandler,
  NodesConnectionSignalInitialHandler,
  NodesConnectionSignalFinalHandler,
};
export type { ActiveConnection };
