/**
 * @packageDocumentation
 * Every node is a relay: circuits carried on @matrixai/rpc raw streams, with
 * quotas (circuits in all, per source, per target; bytes and rate per
 * circuit), and relayed connections that are end-to-end TLS 1.3 tunnels
 * (NodeId certificates, network membership checked as on a direct
 * connection) carrying multiplexed streams, so RPC runs on them unchanged.
 */
export { default as RelayService, relayConfigDefault } from './RelayService.js';
export { default as RelayedConnection } from './RelayedConnection.js';
export { default as DatagramRelay, datagramRelayConfigDefault } from './datagram/DatagramRelay.js';
export { default as DatagramCircuit } from './datagram/DatagramCircuit.js';
export { default as DatagramRelayedConnection } from './datagram/DatagramRelayedConnection.js';
export * as binding from './datagram/binding.js';
export { default as MuxSession, MuxStream, muxConfigDefault } from './mux/MuxSession.js';
export * as frames from './mux/frames.js';
export {
  openTunnel,
  tunnelTransport,
  tunnelIdentityOf,
  classifyTlsError,
  tunnelAlpn,
} from './tunnel.js';
export { ByteRate, relayQuotasDefault } from './quotas.js';
export * as errors from './errors.js';
export type { RelayConfig, Circuit } from './RelayService.js';
export type { DatagramRelayConfig, BindPort, CircuitLedger } from './datagram/DatagramRelay.js';
export type { DatagramCircuitLimits } from './datagram/DatagramCircuit.js';
export type { MuxTransport, MuxConfig } from './mux/MuxSession.js';
export type { TunnelIdentity } from './tunnel.js';
export type { RelayQuotas } from './quotas.js';
