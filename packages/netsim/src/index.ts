/**
 * @packageDocumentation
 * A deterministic in-process network for protocol tests at scale: a virtual
 * clock, virtual UDP ports that implement `DatagramPort`, and NAT models
 * (RFC 4787 mapping, filtering, port allocation, mapping lifetime,
 * hairpinning) matching the netns lab's kinds. No real sockets, no real time.
 */
export { default as VirtualClock } from './VirtualClock.js';
export { default as Random } from './Random.js';
export { default as NAT } from './NAT.js';
export { default as Network } from './Network.js';
export { default as VirtualDatagramPort } from './VirtualDatagramPort.js';
export { natKinds, natConfigs, addSite, publicIpv4 } from './presets.js';
export { runScaleScenario, scaleKindsDefault } from './scale.js';
export {
  default as VirtualConnectionTransport,
  virtualTransportConfigDefault,
} from './connections/VirtualConnectionTransport.js';
export type { VirtualTransportConfig } from './connections/VirtualConnectionTransport.js';
export { default as VirtualConnection } from './connections/VirtualConnection.js';
export { encodePacket, decodePacket } from './connections/packets.js';
export type { Packet } from './connections/packets.js';
export type * from './types.js';
export type { Realm, SimHost, NATBox, LinkConditions, TraceEntry, Partition } from './Network.js';
export * as errors from './errors.js';
