import type { NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';

function toBig(id: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(id).toString('hex') || '0'}`);
}

/** Whether `a` is strictly closer (XOR) to `target` than `b`. */
function closerThan(a: NodeId, b: NodeId, target: NodeId): boolean {
  const t = toBig(target);
  return (toBig(a) ^ t) < (toBig(b) ^ t);
}

/**
 * Where a signal for `target` goes next from `self`: to the target when
 * connected to it; else to the connected peer closest to the target (not on
 * `path`), but only if it is strictly closer than `self`. Distance falls at
 * every hop, so a signal can neither loop nor wander (greedy Kademlia routing).
 */
function nextHop({
  self,
  target,
  connected,
  path,
}: {
  self: NodeId;
  target: NodeId;
  connected: ReadonlyArray<NodeId>;
  path: ReadonlyArray<NodeId>;
}): { kind: 'deliver' } | { kind: 'forward'; to: NodeId } | { kind: 'none' } {
  if (connected.some((c) => identity.nodeIdEquals(c, target))) return { kind: 'deliver' };
  const excluded = new Set([self, ...path].map((p) => identity.encodeNodeId(p)));
  let best: NodeId | undefined;
  for (const c of connected) {
    if (excluded.has(identity.encodeNodeId(c))) continue;
    if (best == null || closerThan(c, best, target)) best = c;
  }
  if (best == null || !closerThan(best, self, target)) return { kind: 'none' };
  return { kind: 'forward', to: best };
}

export { nextHop, closerThan };
