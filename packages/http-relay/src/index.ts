/**
 * @packageDocumentation
 * Relay connections over WebSocket on TCP, for nodes on networks that block
 * UDP: a relay's WebSocket endpoint (`HttpRelayServer`) and the client
 * (`connectHttpRelay`), through HTTP CONNECT proxies (explicit, or
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY). Each WebSocket carries the relay
 * package's end-to-end TLS 1.3 tunnel and stream mux, so the result is a
 * `Connection` like any other.
 */
export { default as HttpRelayServer, httpRelayServerConfigDefault } from './HttpRelayServer.js';
export { connectHttpRelay, openWebSocket, memoryOpener, relayPath } from './HttpRelayClient.js';
export type { RelayStream } from './HttpRelayClient.js';
export { proxyFor, noProxy, connectThroughProxy } from './proxy.js';
export { webSocketStream, memoryStreamPair } from './webSocketStream.js';
export * as errors from './errors.js';
export type { HttpRelayServerConfig } from './HttpRelayServer.js';
export type { ProxyEnv } from './proxy.js';
