/**
 * @packageDocumentation
 * Signalling protocol logic, written sans-IO (inputs with `now`, outputs
 * pulled), so it runs over real QUIC and inside netsim alike. So far: NAT
 * behaviour detection from reflexive addresses.
 */
export { default as NATBehaviourDetector } from './nat/NATBehaviourDetector.js';
export type { NATBehaviourDetectorConfig } from './nat/NATBehaviourDetector.js';
export type * from './nat/types.js';
