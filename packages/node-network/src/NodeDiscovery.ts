import type { Address, Clock, NodeId } from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { NodeGraph, AddressSource, PathKind } from '@node-network/nodegraph';
import type { NodeConnection } from '@node-network/transport';
import type { LookupContact, LookupResult } from '@node-network/discovery';
import type { WireContact } from './handlers/ClosestNodesHandler.js';
import * as identity from '@node-network/network-identity';
import { iterativeLookup } from '@node-network/discovery';
import { errors as baseErrors } from '@node-network/network-interface';
import {
  addresses as addressUtils,
  errors as transportErrors,
  isPolykeyPeer,
} from '@node-network/transport';
import type { JSONObject } from '@node-network/transport';
import { parseClosestActiveConnection, parseClosestLocalNode } from './polykey1/messages.js';

/** Contacts one `closestNodes` answer may hold (the wire limit; a table's k is at most this in answers). */
const maxContacts = 20;
const maxAddresses = 8;

function isLocal(a: Address): boolean {
  return addressUtils.hostScope(a.host) !== 'global';
}

/**
 * The NodeGraph side of the facade: what we answer to `closestNodes`, what
 * we remember after each connection, and `findNode` (Kademlia's lookup over
 * the `closestNodes` RPC). A contact from someone's answer enters the table
 * only once we connected to it (its NodeId proven by the TLS handshake);
 * answers that are malformed, oversized or duplicated are refused and
 * their sender penalised.
 */
class NodeDiscovery {
  public readonly graph: NodeGraph;
  protected self: NodeId;
  protected clock: Clock;
  protected dial: (
    nodeId: NodeId,
    addresses: Array<Address>,
    ctx?: Partial<ContextTimedInput>,
  ) => Promise<NodeConnection>;
  protected queryTimeoutTime: number;

  public constructor({
    graph,
    self,
    clock,
    dial,
    queryTimeoutTime = 5_000,
  }: {
    graph: NodeGraph;
    self: NodeId;
    clock: Clock;
    dial: NodeDiscovery['dial'];
    queryTimeoutTime?: number;
  }) {
    this.graph = graph;
    this.self = self;
    this.clock = clock;
    this.dial = dial;
    this.queryTimeoutTime = queryTimeoutTime;
  }

  /** Our answer to `closestNodes`. */
  public async closest(target: NodeId): Promise<Array<WireContact>> {
    const contacts = await this.graph.closestNodes(
      target,
      Math.min(this.graph.config.k, maxContacts),
    );
    return contacts.map((c) => ({
      nodeId: c.nodeId,
      addresses: c.addresses.slice(0, maxAddresses).map(addressUtils.formatAddress),
    }));
  }

  /** A connection to `nodeId` through `address` worked: remember both. */
  public async remember(
    nodeId: NodeId,
    address: Address,
    source: AddressSource,
    path: PathKind = 'direct',
    { scope }: { scope?: 'local' | 'global' } = {},
  ): Promise<void> {
    if (identity.nodeIdEquals(nodeId, this.self)) return;
    const now = this.clock.wallTime();
    await this.graph.setAddress(
      nodeId,
      {
        host: address.host,
        port: address.port,
        family: address.family,
        source,
        scope: scope ?? (isLocal(address) ? 'local' : 'global'),
      },
      now,
      { path },
    );
  }

  /**
   * A dial to `nodeId` over `addresses` failed: each address counts one
   * failure in the table (GC drops an address after several in a row).
   * Cancellations are not failures. Never throws.
   */
  public async recordDialFailure(
    nodeId: NodeId,
    addresses: ReadonlyArray<Address>,
    error: unknown,
  ): Promise<void> {
    if (error instanceof baseErrors.ErrorCancelled) return;
    const now = this.clock.wallTime();
    for (const a of addresses) {
      await this.graph.recordFailure(nodeId, a, now).catch(() => {});
    }
  }

  /** The addresses the table holds for `nodeId`, most recently seen first. */
  public async addressesOf(nodeId: NodeId): Promise<Array<Address>> {
    const c = await this.graph.getContact(nodeId);
    const out: Array<Address> = [];
    for (const a of c?.addresses ?? []) {
      try {
        out.push(addressUtils.toAddress(a.host, a.port));
      } catch {
        // hostnames are resolved by the dial path elsewhere
      }
    }
    return out;
  }

  /** Kademlia's lookup for `target`, starting from the table's closest contacts. */
  public async lookup(target: NodeId, ctx: Partial<ContextTimedInput> = {}): Promise<LookupResult> {
    const targetText = identity.encodeNodeId(target);
    const initial = (await this.closest(target)).map((c): LookupContact => ({
      nodeId: identity.decodeNodeId(c.nodeId),
      addresses: c.addresses,
    }));
    return iterativeLookup({
      target,
      self: this.self,
      initial,
      k: Math.min(this.graph.config.k, maxContacts),
      signal: ctx.signal,
      query: async (c) => {
        const addrs = c.addresses.flatMap((a) => addressUtils.tryParseAddress(a) ?? []);
        let nc: NodeConnection;
        try {
          nc = await this.dial(c.nodeId, addrs, {
            timer: this.queryTimeoutTime,
            signal: ctx.signal,
          });
        } catch (e) {
          if (!ctx.signal?.aborted) await this.recordDialFailure(c.nodeId, addrs, e);
          throw e;
        }
        if (isPolykeyPeer(nc.connection)) {
          return this.validate(c.nodeId, await this.queryPolykey(nc, targetText, ctx.signal));
        }
        const r = await nc.rpc.unary<{ nodeId: string }, { contacts: Array<WireContact> }>(
          'closestNodes',
          { nodeId: targetText },
          { timer: this.queryTimeoutTime, signal: ctx.signal },
        );
        return this.validate(c.nodeId, r);
      },
    });
  }

  /**
   * One lookup step on a Polykey 1.x agent: `nodesClosestLocalNodesGet`,
   * each answer through the 1.x codec, as a `closestNodes` answer.
   */
  protected async queryPolykey(
    nc: NodeConnection,
    targetText: string,
    signal: AbortSignal | undefined,
  ): Promise<{ contacts: Array<WireContact> }> {
    // Both of 1.x's lookup answers, as 1.x's own lookup asks them: a 1.x agent lists the
    // nodes it holds connections to (where it sees them) apart from its NodeGraph, and a
    // node that dialled it may be only in the first.
    const byNode = new Map<string, Set<string>>();
    const collect = async (method: string, parse: typeof parseClosestLocalNode) => {
      const answers = await nc.rpc.serverStream<{ nodeIdEncoded: string }, JSONObject>(
        method,
        { nodeIdEncoded: targetText },
        { timer: this.queryTimeoutTime, signal },
      );
      let n = 0;
      for await (const answer of answers as unknown as AsyncIterable<unknown>) {
        if (++n > maxContacts) break;
        const c = parse(answer);
        const key = identity.encodeNodeId(c.nodeId);
        const set = byNode.get(key) ?? new Set<string>();
        for (const a of c.addresses) set.add(a);
        byNode.set(key, set);
      }
    };
    const results = await Promise.allSettled([
      collect('nodesClosestActiveConnectionsGet', parseClosestActiveConnection),
      collect('nodesClosestLocalNodesGet', parseClosestLocalNode),
    ]);
    if (results.every((r) => r.status === 'rejected')) {
      throw (results[0] as PromiseRejectedResult).reason;
    }
    return {
      contacts: [...byNode].slice(0, maxContacts).map(([nodeId, addresses]) => ({
        nodeId,
        addresses: [...addresses].slice(0, maxAddresses),
      })),
    };
  }

  /** A peer's `closestNodes` answer, checked; refusing it penalises the peer. */
  protected async validate(from: NodeId, r: unknown): Promise<Array<LookupContact>> {
    const refuse = async (why: string) => {
      await this.graph.penalise(from).catch(() => {});
      throw new transportErrors.ErrorRPCResponseInvalid(
        `closestNodes from ${identity.encodeNodeId(from)}: ${why}`,
      );
    };
    const contacts = (r as { contacts?: unknown })?.contacts;
    if (!Array.isArray(contacts)) return refuse('no contact list');
    if (contacts.length > maxContacts)
      return refuse(`${contacts.length} contacts, more than ${maxContacts}`);
    const seen = new Set<string>();
    const out: Array<LookupContact> = [];
    for (const c of contacts as Array<{ nodeId?: unknown; addresses?: unknown }>) {
      if (typeof c?.nodeId !== 'string' || !Array.isArray(c.addresses))
        return refuse('a malformed contact');
      if (c.addresses.length > maxAddresses) return refuse('a contact with too many addresses');
      if (seen.has(c.nodeId)) return refuse(`${c.nodeId} listed twice`);
      seen.add(c.nodeId);
      let nodeId: NodeId;
      try {
        nodeId = identity.decodeNodeId(c.nodeId);
      } catch {
        return refuse('an invalid NodeId');
      }
      const addresses = c.addresses.filter(
        (a): a is string => addressUtils.tryParseAddress(a) != null,
      );
      if (addresses.length > 0) out.push({ nodeId, addresses });
    }
    return out;
  }
}

export default NodeDiscovery;
