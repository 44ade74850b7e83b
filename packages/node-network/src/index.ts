/**
 * @packageDocumentation
 * node-network: complete connectivity for a peer-to-peer agent whose nodes
 * are named by Ed25519 public keys. `NodeNetwork` is the one object an agent
 * creates; the packages under `@node-network/*` are its parts.
 */
export { default as NodeNetwork } from './NodeNetwork.js';
export type { NodeNetworkOptions } from './NodeNetwork.js';
export type { BindDatagramPort, NATProbeServerConfig, NATProbeInfo } from './NATProbeService.js';
export type * from './types.js';
export * as errors from './errors.js';
export * as events from './events.js';
export * as identity from '@node-network/network-identity';
export { runDemo } from './demo.js';
export type {
  NetworkSnapshot,
  SnapshotNode,
  SnapshotLink,
  SnapshotEvent,
} from './dashboard/types.js';
export { serveDashboard } from './dashboard/serveDashboard.js';
export { decodeSnapshot, parseSnapshot } from './dashboard/snapshotCodec.js';
export { fromControl, fromFile, fromUrl } from './dashboard/snapshotSources.js';
export type { SnapshotSource } from './dashboard/snapshotSources.js';
export type { LocalHttpServer } from './http/localHttpServer.js';
export { default as AuditStore, auditStoreConfigDefault } from './audit/AuditStore.js';
export type { AuditStoreConfig, AuditStoreStats } from './audit/AuditStore.js';
export type { AuditQuery } from './audit/auditQuery.js';
export type { AuditRecord } from '@node-network/transport';
export type { Explanation, ExplainStep } from './explain.js';
export { formatExposition, parseExposition } from './metrics/exposition.js';
export type { MetricFamily, MetricSample } from './metrics/exposition.js';
