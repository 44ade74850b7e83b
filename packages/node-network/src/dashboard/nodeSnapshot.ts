import type { NodeNetworkFullStatus } from '../types.js';
import type { NetworkSnapshot, SnapshotNode } from './types.js';
import { auditLevel, describeAuditRecord, natKind, shortNodeId } from '../describe.js';

/** Events a node's snapshot carries (its newest audit records). */
const snapshotEvents = 50;

/** Our NAT, both families in one word where they agree. */
function natSummary(nat: NodeNetworkFullStatus['nat']): string {
  const v4 = natKind(nat.ipv4);
  const v6 = natKind(nat.ipv6);
  if (v6 === 'unknown' || v6 === v4) return v4;
  if (v4 === 'unknown') return v6;
  return `ipv4 ${v4} / ipv6 ${v6}`;
}

/** A peer's NAT as its last signal told us (`their NAT ipv4 mapping/allocation/filtering`). */
function peerNats(status: NodeNetworkFullStatus): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of status.audit) {
    if (r.kind !== 'signal' || r.nodeId == null) continue;
    const m = /their NAT ipv[46] ([a-z-]+)\/[a-z-]+\/([a-z-]+)/.exec(r.detail ?? '');
    if (m != null) out.set(r.nodeId, natKind({ mapping: m[1] as any, filtering: m[2] as any }));
  }
  return out;
}

/**
 * One node's view as a dashboard snapshot: itself (its NAT, whether it
 * relays), every peer it holds a connection to, linked by that
 * connection's path (relayed links name the relay), the relays it names or
 * uses, and its newest audit records as events.
 */
function nodeSnapshot({
  status,
  time,
  servesRelay,
}: {
  status: NodeNetworkFullStatus;
  time: number;
  servesRelay: boolean;
}): NetworkSnapshot {
  const self = status.nodeId;
  const named = new Set(status.relays.map((r) => r.nodeId));
  const used = new Set(status.connections.flatMap((c) => (c.relay != null ? [c.relay] : [])));
  const nats = peerNats(status);
  const nodes: Array<SnapshotNode> = [
    {
      id: self,
      label: `${shortNodeId(self)} (this node)`,
      nat: natSummary(status.nat),
      up: true,
      relay: servesRelay,
      addresses: status.addresses.slice(0, 32),
    },
  ];
  const seen = new Set([self]);
  const add = (id: string, n: Omit<SnapshotNode, 'id'>) => {
    if (seen.has(id)) return;
    seen.add(id);
    const nat = nats.get(id);
    nodes.push({ id, label: shortNodeId(id), ...(nat != null ? { nat } : {}), ...n });
  };
  for (const c of status.connections) {
    add(c.nodeId, {
      up: true,
      relay: named.has(c.nodeId) || used.has(c.nodeId),
      addresses: c.path === 'direct' || c.path === 'punched' ? [c.remoteAddress] : [],
    });
  }
  for (const id of used) add(id, { up: true, relay: true });
  for (const id of named) add(id, { up: false, relay: true });
  const paths: Record<string, number> = {};
  for (const c of status.connections) paths[c.path] = (paths[c.path] ?? 0) + 1;
  return {
    time,
    source: 'node',
    title: `node-network: ${shortNodeId(self)} on ${status.network}`,
    nodes,
    links: status.connections.map((c) => ({
      a: self,
      b: c.nodeId,
      path: c.path,
      ...(c.relay != null ? { via: c.relay } : {}),
    })),
    events: status.audit.slice(-snapshotEvents).map((r) => ({
      time: r.time,
      kind: r.kind,
      text: describeAuditRecord(r, false).slice(0, 4096),
      level: auditLevel(r),
    })),
    stats: {
      connections: status.connections.length,
      ...paths,
      'known nodes': Object.keys(status.knownNodes).length,
      ...(status.nodeGraph != null ? { 'nodegraph contacts': status.nodeGraph.size } : {}),
      'audit records': status.auditCounts.stored ?? status.auditCounts.memory,
      ...(status.relayService != null
        ? {
            'relay circuits': status.relayService.circuits,
            'relayed bytes': status.relayService.bytes,
          }
        : {}),
    },
  };
}

export { nodeSnapshot, natSummary };
