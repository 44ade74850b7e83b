/**
 * @packageDocumentation
 * Network-wide discovery: Kademlia's iterative lookup, written against an
 * injected query function so it runs over real RPC and in the simulator.
 */
export { iterativeLookup } from './lookup.js';
export type { LookupContact, LookupResult } from './lookup.js';
