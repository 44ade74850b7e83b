/**
 * @packageDocumentation
 * The real implementations of node-network's contracts: addresses, a real
 * clock, UDP datagram ports, QUIC connections with mutual TLS bound to
 * NodeIds and network membership, @matrixai/rpc on their streams, and the
 * connection manager (one connection per NodeId, happy eyeballs,
 * simultaneous-open tie-break, idle close, audit events), and the same QUIC
 * transport with its QUIC work in worker threads (`WorkerQUICTransport`).
 */
export { default as QUICTransport } from './QUICTransport.js';
export { default as QUICNodeConnection } from './QUICNodeConnection.js';
export {
  default as WorkerQUICTransport,
  workerOptionsDefault,
} from './worker/WorkerQUICTransport.js';
export { default as WorkerQUICConnection } from './worker/WorkerQUICConnection.js';
export type { WorkerQUICTransportOptions } from './worker/WorkerQUICTransport.js';
export { default as NodeConnectionManager } from './NodeConnectionManager.js';
export { default as RealClock } from './RealClock.js';
export { default as UDPDatagramPort } from './UDPDatagramPort.js';
export { default as RPCEndpoint, RPCCaller } from './rpc/RPCEndpoint.js';
export { default as PingHandler } from './handlers/PingHandler.js';
export { default as ObservedAddressHandler } from './handlers/ObservedAddressHandler.js';
export type { NodeConnection, NodeConnectionManagerConfig } from './NodeConnectionManager.js';
export type { CallerMeta } from './rpc/RPCEndpoint.js';
export type { TransportConfig, ListenAddress } from './types.js';
export type { AuditRecord } from './events.js';
export * as addresses from './addresses.js';
export { streamCodes, reasonToCode, codeToReason } from './streamCodes.js';
export { connectionPath, isRelayed, isWebSocket, peerProtocol, isPolykeyPeer } from './paths.js';
export { polykeyMethods } from './rpc/polykeyMethods.js';
export * as events from './events.js';
export * as errors from './errors.js';
export { transportConfigDefault, alpn } from './config.js';
export { managerConfigDefault } from './NodeConnectionManager.js';
export {
  UnaryHandler,
  ServerHandler,
  ClientHandler,
  DuplexHandler,
  RawHandler,
} from './rpc/matrixaiRpc.js';
export type { JSONObject, JSONValue, RPCStream, ServerManifest } from './rpc/matrixaiRpc.js';
