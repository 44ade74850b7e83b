import type { AuditRecord } from '@node-network/transport';

/** Which audit records to return: all conditions given must hold. */
type AuditQuery = {
  /** Records about this peer (NodeId text). */
  nodeId?: string;
  /** Records of these kinds. */
  kinds?: ReadonlyArray<string>;
  /** Wall-clock ms, inclusive. */
  since?: number;
  /** Wall-clock ms, exclusive. */
  until?: number;
  /** At most this many, the newest (default 1,000). */
  limit?: number;
};

const defaultQueryLimit = 1_000;
const maxQueryLimit = 100_000;

function queryLimit(q: AuditQuery): number {
  const l = q.limit ?? defaultQueryLimit;
  return Number.isFinite(l) ? Math.min(maxQueryLimit, Math.max(1, Math.floor(l))) : maxQueryLimit;
}

function matchesAuditQuery(r: AuditRecord, q: AuditQuery): boolean {
  return (
    (q.nodeId == null || r.nodeId === q.nodeId) &&
    (q.kinds == null || q.kinds.includes(r.kind)) &&
    (q.since == null || r.time >= q.since) &&
    (q.until == null || r.time < q.until)
  );
}

/** The newest `limit` records of `records` (oldest first) that match, oldest first. */
function queryAuditRecords(records: ReadonlyArray<AuditRecord>, q: AuditQuery): Array<AuditRecord> {
  const limit = queryLimit(q);
  const out: Array<AuditRecord> = [];
  for (let i = records.length - 1; i >= 0 && out.length < limit; i--) {
    if (matchesAuditQuery(records[i], q)) out.push(records[i]);
  }
  return out.reverse();
}

export { queryLimit, matchesAuditQuery, queryAuditRecords, defaultQueryLimit };
export type { AuditQuery };
