/**
 * @packageDocumentation
 * Signalling protocol logic, written sans-IO (inputs with `now`, outputs
 * pulled), so it runs over real QUIC and inside netsim alike. So far: NAT
 * behaviour detection from reflexive addresses.
 */
export { default as NATBehaviourDetector } from './nat/NATBehaviourDetector.js';
export type { NATBehaviourDetectorConfig } from './nat/NATBehaviourDetector.js';
export type * from './nat/types.js';
export { default as NATProbeServer, natProbeServerLimitsDefault } from './probe/NATProbeServer.js';
export type { NATProbeServerLimits } from './probe/NATProbeServer.js';
export { probeFiltering, probeMappingLifetime, filteringFrom } from './probe/NATProber.js';
export type { FilteringResult, MappingLifetimeResult } from './probe/NATProber.js';
export {
  encodeProbeMessage,
  decodeProbeMessage,
  requestSize as probeRequestSize,
  maxAnswerSize as probeMaxAnswerSize,
} from './probe/messages.js';
export type { ProbeMessage, ProbeRequest, ProbeAnswer, ReplyFrom } from './probe/messages.js';
export * as probeErrors from './probe/errors.js';
export type { NATProbeServerStats, NATProbeServerOptions } from './probe/NATProbeServer.js';
export type { ProbeRandom } from './probe/NATProber.js';
export { maxDelayMs as probeMaxDelayMs } from './probe/messages.js';
export * as signal from './signal/index.js';
