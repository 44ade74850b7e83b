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
