/**
 * One picture of a network for the dashboard: a node's own view
 * (`NodeNetwork.snapshot()`, source `node`) or a whole simulated network
 * (chaosnet, source `chaosnet`). The field names are shared with chaosnet:
 * add optional fields only.
 */
type NetworkSnapshot = {
  /** Wall-clock ms. */
  time: number;
  /** `node` | `chaosnet`. */
  source: string;
  title?: string;
  nodes: Array<SnapshotNode>;
  links: Array<SnapshotLink>;
  events: Array<SnapshotEvent>;
  stats?: Record<string, number>;
};

type SnapshotNode = {
  id: string;
  label?: string;
  /** The NAT kind it is behind (`none`, `full-cone`, `restricted`, `port-restricted`, `symmetric`, ...). */
  nat?: string;
  up: boolean;
  /** It relays for others. */
  relay?: boolean;
  addresses?: Array<string>;
};

type SnapshotLink = {
  a: string;
  b: string;
  /** `direct` | `punched` | `relayed` | `http-relay`. */
  path: string;
  /** The relay in the middle (relayed links), when known. */
  via?: string;
};

type SnapshotEvent = {
  time: number;
  kind: string;
  text: string;
  level?: 'info' | 'warn' | 'error';
};

export type { NetworkSnapshot, SnapshotNode, SnapshotLink, SnapshotEvent };
