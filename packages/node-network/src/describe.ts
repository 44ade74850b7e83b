import type { AuditRecord } from '@node-network/transport';
import type { NATClassification } from '@node-network/signalling';

/**
 * Short text for people (explain, the dashboard's events, the CLI): an
 * audit record on one line, a NAT belief as the usual name of its kind.
 */
function shortNodeId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

function clockTime(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime())
    ? String(t)
    : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

/** The NAT kind a belief amounts to: `none`, `full-cone`, `restricted`, `port-restricted`, `symmetric`, `cone`, `unknown`. */
function natKind(c: Pick<NATClassification, 'mapping' | 'filtering'>): string {
  switch (c.mapping) {
    case 'none':
      return 'none';
    case 'endpoint-dependent':
      return 'symmetric';
    case 'endpoint-independent':
      return c.filtering === 'endpoint-independent'
        ? 'full-cone'
        : c.filtering === 'address-dependent'
          ? 'restricted'
          : c.filtering === 'address-and-port-dependent'
            ? 'port-restricted'
            : 'cone';
    default:
      return 'unknown';
  }
}

/** One line: what (unless `withKind` is false), about whom, where, how it ended, why. */
function describeAuditRecord(r: AuditRecord, withKind = true): string {
  const parts: Array<string> = withKind ? [r.kind] : [];
  if (r.direction != null) parts.push(r.direction);
  if (r.nodeId != null) parts.push(shortNodeId(r.nodeId));
  if (r.address != null) parts.push(`at ${r.address}`);
  if (r.path != null) parts.push(`(${r.path})`);
  if (r.outcome != null) {
    parts.push(`${r.outcome}${r.durationMs != null ? ` in ${Math.round(r.durationMs)} ms` : ''}`);
  }
  let text = parts.join(' ');
  if (r.error != null) text += `: ${r.error.name}: ${r.error.message}`;
  if (r.detail != null) text += ` - ${r.detail}`;
  return text;
}

/** How serious a record is, for the dashboard. */
function auditLevel(r: AuditRecord): 'info' | 'warn' {
  return r.kind === 'inbound-rejected' ||
    r.outcome === 'failed' ||
    r.outcome === 'timeout' ||
    r.error != null
    ? 'warn'
    : 'info';
}

export { shortNodeId, clockTime, natKind, describeAuditRecord, auditLevel };
