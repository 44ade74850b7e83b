import type { NodeId } from '@node-network/network-interface';
import { errors as baseErrors } from '@node-network/network-interface';

/** A node as lookups pass it around: its id and where it may be reached. */
type LookupContact = { nodeId: NodeId; addresses: Array<string> };

type LookupResult = {
  /** The `k` closest nodes that answered, closest first. */
  closest: Array<LookupContact>;
  /** The target itself, when some node knew it. */
  found?: LookupContact;
  /** Rounds of parallel queries. */
  rounds: number;
  queries: number;
  /** Nodes that failed to answer (unreachable, timed out, or answered garbage). */
  failed: Array<{ nodeId: NodeId; error: string }>;
};

function toBig(id: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(id).toString('hex') || '0'}`);
}

function hex(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}

/**
 * Kademlia's iterative node lookup. Keeps a shortlist ordered by XOR
 * distance to `target`; each round queries the `alpha` closest nodes not
 * yet asked, in parallel, and merges what they return. When a round brings
 * nothing closer than the closest already known, it asks every one of the
 * `k` closest not yet asked; it ends when those have all answered (or
 * failed), or as soon as the target itself turns up when `stopAtTarget`.
 * `query` does the I/O (and must verify what it returns); this only
 * decides whom to ask.
 */
async function iterativeLookup({
  target,
  self,
  initial,
  query,
  k = 20,
  alpha = 3,
  stopAtTarget = true,
  maxRounds = 64,
  signal,
}: {
  target: NodeId;
  self: NodeId;
  initial: ReadonlyArray<LookupContact>;
  query: (contact: LookupContact) => Promise<Array<LookupContact>>;
  k?: number;
  alpha?: number;
  stopAtTarget?: boolean;
  maxRounds?: number;
  signal?: AbortSignal;
}): Promise<LookupResult> {
  const t = toBig(target);
  const dist = (c: LookupContact) => toBig(c.nodeId) ^ t;
  const known = new Map<string, LookupContact>();
  const state = new Map<string, 'new' | 'asking' | 'answered' | 'failed'>();
  const failed: LookupResult['failed'] = [];
  const selfHex = hex(self);
  let found: LookupContact | undefined;
  const learn = (c: LookupContact) => {
    const h = hex(c.nodeId);
    if (h === selfHex) return;
    const old = known.get(h);
    if (old == null) {
      known.set(h, { nodeId: c.nodeId, addresses: [...c.addresses] });
      state.set(h, 'new');
    } else {
      for (const a of c.addresses) if (!old.addresses.includes(a)) old.addresses.push(a);
    }
    if (h === hex(target)) found = known.get(h);
  };
  for (const c of initial) learn(c);
  const ordered = () =>
    [...known.values()].sort((a, b) => (dist(a) < dist(b) ? -1 : dist(a) > dist(b) ? 1 : 0));
  const live = () => ordered().filter((c) => state.get(hex(c.nodeId)) !== 'failed');
  let rounds = 0;
  let queries = 0;
  let closestSeen = live()[0] != null ? dist(live()[0]) : undefined;
  let sweep = false;
  while (rounds < maxRounds) {
    if (signal?.aborted) {
      throw new baseErrors.ErrorCancelled('Lookup cancelled', { cause: signal.reason });
    }
    if (found != null && stopAtTarget) break;
    const top = live().slice(0, k);
    const todo = top.filter((c) => state.get(hex(c.nodeId)) === 'new');
    if (todo.length === 0) break;
    const batch = sweep ? todo : todo.slice(0, alpha);
    rounds++;
    await Promise.all(
      batch.map(async (c) => {
        const h = hex(c.nodeId);
        state.set(h, 'asking');
        queries++;
        try {
          const got = await query(c);
          state.set(h, 'answered');
          for (const g of got) learn(g);
        } catch (e) {
          state.set(h, 'failed');
          failed.push({ nodeId: c.nodeId, error: (e as Error)?.message ?? String(e) });
        }
      }),
    );
    const best = live()[0];
    const improved = best != null && (closestSeen == null || dist(best) < closestSeen);
    if (best != null && improved) closestSeen = dist(best);
    // No progress: ask all of the k closest that are left (Kademlia's final sweep).
    sweep = !improved;
  }
  return {
    closest: live()
      .filter((c) => state.get(hex(c.nodeId)) === 'answered')
      .slice(0, k),
    found,
    rounds,
    queries,
    failed,
  };
}

export { iterativeLookup };
export type { LookupContact, LookupResult };
