import type { AuditRecord } from '@node-network/transport';
import type { NATClassification } from '@node-network/signalling';

/** The result of `connect`: which connection, by which path, how fast. */
type ConnectResult = {
  nodeId: string;
  connectionId: string;
  /**
   * `direct`: dialled; `punched`: signalled through peers, then a hole
   * punched; `relayed`: through a relay, end-to-end encrypted; `http-relay`:
   * over WebSocket on TCP to a relay (UDP blocked), or relayed with such a leg.
   */
  path: 'direct' | 'punched' | 'relayed' | 'http-relay';
  /** The peer's address as we reach it. */
  address: string;
  /** Wall time `connect` took, ms (0 when a live connection was reused). */
  durationMs: number;
  reused: boolean;
};

type ConnectionStatus = {
  nodeId: string;
  connectionId: string;
  initiator: 'local' | 'remote';
  path: 'direct' | 'punched' | 'relayed' | 'http-relay';
  /** The relay in the middle (relayed connections). */
  relay?: string;
  localAddress: string;
  remoteAddress: string;
};

type NodeNetworkStatus = {
  nodeId: string;
  network: string;
  addresses: Array<string>;
  connections: Array<ConnectionStatus>;
  knownNodes: Record<string, Array<string>>;
  /** What this node believes about its NAT, per family (see @node-network/signalling). */
  nat: { ipv4: NATClassification; ipv6: NATClassification };
  /** The relays we name in signal answers, fastest first, with their measured ping round trip. */
  relays: Array<{ nodeId: string; address: string; rttMs?: number }>;
  /** The newest audit records, oldest first. */
  audit: Array<AuditRecord>;
};

export type { ConnectResult, ConnectionStatus, NodeNetworkStatus };
