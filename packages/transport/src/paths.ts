import type { Connection } from '@node-network/network-interface';

/**
 * How a connection reaches its peer. QUIC connections carry no `path`
 * (direct); relay circuits say `relayed`, WebSocket tunnels to an HTTP
 * relay `websocket` (`@node-network/relay`, `@node-network/http-relay`).
 */
function connectionPath(c: Connection | undefined): 'direct' | 'relayed' | 'websocket' {
  const path = (c as { path?: string } | undefined)?.path;
  return path === 'relayed' || path === 'websocket' ? path : 'direct';
}

/** A circuit through a relay. */
function isRelayed(c: Connection | undefined): boolean {
  return connectionPath(c) === 'relayed';
}

/** A WebSocket tunnel straight to an HTTP relay. */
function isWebSocket(c: Connection | undefined): boolean {
  return connectionPath(c) === 'websocket';
}

export { connectionPath, isRelayed, isWebSocket };
