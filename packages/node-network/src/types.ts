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
  /**
   * How the relay carries it (relayed connections): `datagram`, one QUIC
   * connection end to end whose packets the relay forwards; `stream`, TLS
   * over the relay's RPC streams.
   */
  circuit?: 'datagram' | 'stream';
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
  /** With relaying: the circuits we serve for others now, served and refused since start, bytes relayed. */
  relayService?: { circuits: number; relayed: number; refused: number; bytes: number };
  /** With `portMapping`: where the gateway forwards to us now. */
  portMapping?: { addresses: Array<string> };
  /** With `mdns`: whether it runs. */
  mdns?: { running: boolean };
  /** With HTTP relaying: whether we reach the network through HTTP relays now (UDP blocked). */
  httpRelay?: { active: boolean };
  /** Audit records: in the in-memory ring, in the persisted store (with `audit`), seen since start by kind. */
  auditCounts: { memory: number; stored?: number; byKind: Record<string, number> };
  /** Where the metrics are served (with `metrics`). */
  metricsUrl?: string;
  /** The newest audit records, oldest first. */
  audit: Array<AuditRecord>;
};

/** `status()` and what needs a read: `node-network status --json`. */
type NodeNetworkFullStatus = NodeNetworkStatus & {
  /** With a NodeGraph: the contacts it holds. */
  nodeGraph?: { size: number };
};

export type { ConnectResult, ConnectionStatus, NodeNetworkStatus, NodeNetworkFullStatus };
