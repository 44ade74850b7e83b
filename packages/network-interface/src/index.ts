/**
 * @packageDocumentation
 * The contracts node-network's protocol code is written against, and the base
 * errors. Implementations: `@node-network/transport` (real UDP and QUIC) and
 * `@node-network/netsim` (a deterministic in-memory network). Compliance
 * suites every implementation must pass are exported from
 * `@node-network/network-interface/compliance`.
 */
export type * from './types.js';
export type * from './Clock.js';
export type * from './DatagramPort.js';
export type * from './Connection.js';
export * as errors from './errors.js';
export { default as PunchSocketSet } from './PunchSocketSet.js';
export { assertDatagramSendable, DatagramHandlers, formatIPv6, formatAddress } from './utils.js';
