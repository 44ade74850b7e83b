/**
 * @packageDocumentation
 * A Kademlia-style node table: k-buckets by XOR distance, contacts with many
 * addresses (each with its source, scope, last-seen and failure history),
 * persisted in @matrixai/db, with garbage collection and ping-before-evict.
 */
export { default as NodeGraph, nodeGraphConfigDefault, addressKey } from './NodeGraph.js';
export { DB } from './db.js';
export { rangeEntries } from './rangeEntries.js';
export type * from './types.js';
export * as utils from './utils.js';
export * as errors from './errors.js';
export * as events from './events.js';
