import type { Connection } from '@node-network/network-interface';
import type { PeerProtocol } from '@node-network/network-identity';

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

/**
 * The agent protocol the peer speaks, as its certificate said
 * (`QUICNodeConnection.protocol`); connections without one (relay circuits,
 * tunnels) run between node-network nodes.
 */
function peerProtocol(c: Connection | undefined): PeerProtocol {
  return (c as { protocol?: PeerProtocol } | undefined)?.protocol === 'polykey-1'
    ? 'polykey-1'
    : 'node-network';
}

/** A Polykey 1.x agent: it is sent only the 1.x agent methods (`polykeyMethods`). */
function isPolykeyPeer(c: Connection | undefined): boolean {
  return peerProtocol(c) === 'polykey-1';
}

export { connectionPath, isRelayed, isWebSocket, peerProtocol, isPolykeyPeer };
