import type { AuditRecord } from '@node-network/transport';
import type { MetricFamily, MetricSample } from './exposition.js';

/** A counter per label set. */
class LabelledCounter {
  protected values = new Map<string, { labels: Record<string, string>; value: number }>();
  public inc(labels: Record<string, string> = {}, by = 1): void {
    const k = JSON.stringify(Object.entries(labels).sort());
    const e = this.values.get(k);
    if (e != null) e.value += by;
    else this.values.set(k, { labels, value: by });
  }
  public samples(): Array<MetricSample> {
    return [...this.values.values()].map((e) => ({ labels: e.labels, value: e.value }));
  }
  public total(): number {
    let t = 0;
    for (const e of this.values.values()) t += e.value;
    return t;
  }
  public byLabel(name: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.values.values()) {
      const k = e.labels[name] ?? '';
      out[k] = (out[k] ?? 0) + e.value;
    }
    return out;
  }
}

/** What a node knows now, for the gauges (read at each scrape). */
type NodeGauges = {
  nodeId: string;
  network: string;
  connectionsByPath: Record<string, number>;
  knownNodes: number;
  nodeGraphContacts?: number;
  relayService?: { circuits: number; relayed: number; refused: number; bytes: number };
  relaysNamed: number;
  auditStored?: number;
  auditInMemory: number;
  nat: Array<{
    family: string;
    kind: string;
    mapping: string;
    filtering: string;
    allocation: string;
  }>;
  portMappings: number;
  mdns?: boolean;
  httpRelayActive?: boolean;
};

const paths = ['direct', 'punched', 'relayed', 'http-relay'];

/**
 * The node's counters, fed by its audit stream (so they count since this
 * process started), and the gauges it reads from the node at each scrape,
 * as Prometheus metric families.
 */
class NodeMetrics {
  protected audit = new LabelledCounter();
  protected dialAttempts = new LabelledCounter();
  protected connects = new LabelledCounter();
  protected inboundRefusals = new LabelledCounter();
  protected signals = new LabelledCounter();
  protected punches = new LabelledCounter();
  protected relayEvents = new LabelledCounter();
  protected connectionsOpened = new LabelledCounter();

  public observe(r: AuditRecord): void {
    this.audit.inc({ kind: r.kind });
    switch (r.kind) {
      case 'dial-address-result':
        this.dialAttempts.inc({ outcome: r.outcome ?? 'unknown' });
        break;
      case 'inbound-rejected':
        this.inboundRefusals.inc({ reason: r.error?.name ?? 'unknown' });
        break;
      case 'signal':
        this.signals.inc({ outcome: r.outcome ?? 'unknown' });
        if (r.outcome === 'failed' && /^refused/.test(r.detail ?? '')) {
          this.inboundRefusals.inc({ reason: `signal:${r.error?.name ?? 'unknown'}` });
        }
        break;
      case 'punch':
        this.punches.inc({ outcome: r.outcome ?? 'none' });
        break;
      case 'relay':
        this.relayEvents.inc({ outcome: r.outcome ?? 'none' });
        break;
      case 'connection-open':
        this.connectionsOpened.inc({
          path: r.path ?? 'direct',
          direction: r.direction ?? 'outbound',
        });
        break;
    }
  }

  /** The end of one `connect` call. */
  public observeConnect(outcome: 'ok' | 'failed' | 'reused', path?: string): void {
    this.connects.inc({ outcome, path: path ?? 'none' });
  }

  /** Audit records seen since start, by kind. */
  public auditCounts(): Record<string, number> {
    return this.audit.byLabel('kind');
  }

  public families(g: NodeGauges): Array<MetricFamily> {
    const gauge = (name: string, help: string, samples: Array<MetricSample>): MetricFamily => ({
      name,
      help,
      type: 'gauge',
      samples,
    });
    const counter = (name: string, help: string, c: LabelledCounter): MetricFamily => ({
      name,
      help,
      type: 'counter',
      samples: c.samples(),
    });
    const one = (value: number | undefined): Array<MetricSample> =>
      value == null ? [] : [{ value }];
    const out: Array<MetricFamily> = [
      gauge('node_network_info', 'This node (value 1).', [
        { labels: { node_id: g.nodeId, network: g.network }, value: 1 },
      ]),
      gauge(
        'node_network_connections',
        'Connections open now, by path.',
        [...new Set([...paths, ...Object.keys(g.connectionsByPath)])].map((path) => ({
          labels: { path },
          value: g.connectionsByPath[path] ?? 0,
        })),
      ),
      counter(
        'node_network_connections_opened_total',
        'Connections opened, by path and direction.',
        this.connectionsOpened,
      ),
      counter(
        'node_network_connect_attempts_total',
        'Direct dial attempts to one address, by outcome.',
        this.dialAttempts,
      ),
      counter(
        'node_network_connects_total',
        'Calls of connect, by outcome and the path they ended on.',
        this.connects,
      ),
      counter(
        'node_network_inbound_refusals_total',
        'Inbound connections and signals refused, by reason (the error).',
        this.inboundRefusals,
      ),
      counter(
        'node_network_signal_messages_total',
        'Signalling messages sent, answered, forwarded or refused, by outcome.',
        this.signals,
      ),
      counter('node_network_punch_events_total', 'Hole punching steps, by outcome.', this.punches),
      counter('node_network_relay_events_total', 'Relay decisions, by outcome.', this.relayEvents),
      gauge(
        'node_network_relay_circuits',
        'Relay circuits this node serves now.',
        one(g.relayService?.circuits),
      ),
      {
        name: 'node_network_relay_circuits_served_total',
        help: 'Relay circuits this node served for others.',
        type: 'counter',
        samples: one(g.relayService?.relayed),
      },
      {
        name: 'node_network_relay_circuits_refused_total',
        help: 'Relay circuits this node refused (quotas, membership).',
        type: 'counter',
        samples: one(g.relayService?.refused),
      },
      {
        name: 'node_network_relay_bytes_total',
        help: 'Bytes this node relayed for others.',
        type: 'counter',
        samples: one(g.relayService?.bytes),
      },
      gauge(
        'node_network_relay_circuits_used',
        'Our connections carried by a relay now.',
        one((g.connectionsByPath.relayed ?? 0) + (g.connectionsByPath['http-relay'] ?? 0)),
      ),
      gauge(
        'node_network_relays_named',
        'Relays this node names in its signal answers.',
        one(g.relaysNamed),
      ),
      gauge(
        'node_network_known_nodes',
        'Nodes with addresses known outside the NodeGraph.',
        one(g.knownNodes),
      ),
      gauge(
        'node_network_nodegraph_contacts',
        'Contacts in the NodeGraph.',
        one(g.nodeGraphContacts),
      ),
      counter(
        'node_network_audit_records_total',
        'Audit records since start, by kind.',
        this.audit,
      ),
      gauge(
        'node_network_audit_records_stored',
        'Audit records in the persisted store.',
        one(g.auditStored),
      ),
      gauge(
        'node_network_audit_records_memory',
        'Audit records in the in-memory ring.',
        one(g.auditInMemory),
      ),
      gauge(
        'node_network_nat_info',
        'What this node believes about its NAT, per family (value 1).',
        g.nat.map((n) => ({ labels: { ...n }, value: 1 })),
      ),
      gauge(
        'node_network_port_mappings',
        'Port mappings held on the gateway.',
        one(g.portMappings),
      ),
      gauge(
        'node_network_mdns_running',
        'Whether mDNS runs (1) or not (0).',
        one(g.mdns == null ? undefined : Number(g.mdns)),
      ),
      gauge(
        'node_network_http_relay_active',
        'Whether this node reaches the network through HTTP relays (1) or not (0).',
        one(g.httpRelayActive == null ? undefined : Number(g.httpRelayActive)),
      ),
    ];
    // A gauge of a part this node does not run (no NodeGraph, no mDNS) is left out.
    return out.filter((f) => f.type === 'counter' || f.samples.length > 0);
  }
}

export default NodeMetrics;
export type { NodeGauges };
