/**
 * @packageDocumentation
 * Who a node is and which network it belongs to: Ed25519 keys, the NodeId
 * and its text form, X.509 certificates that bind a NodeId (Polykey 1.x
 * layout), networks and signed membership claims, and the handshake check
 * that refuses peers of other networks.
 */
export type * from './types.js';
export * from './keys.js';
export * from './nodeId.js';
export * from './networks.js';
export * from './claims.js';
export * from './certificates.js';
export * from './handshake.js';
export * as errors from './errors.js';
