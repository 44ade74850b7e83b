/**
 * @packageDocumentation
 * Real-kernel NAT labs in Linux network namespaces (root only): an
 * internet bridge, observers, and NAT routers of each kind built with
 * nftables; probes that measure what a NAT really does; avahi LANs (a
 * bridge and hosts each running its own avahi-daemon) for mDNS.
 */
export { default as Lab, canRunNetlab } from './Lab.js';
export type { LabSite, LabSiteKind, LabInternet } from './Lab.js';
export type { LabNATKind } from './natRules.js';
export { natRules } from './natRules.js';
export { measureNat, tcpProbe } from './measure.js';
export type { MeasuredNat } from './measure.js';
export { default as ControlledProcess, ErrorControlledProcess } from './ControlledProcess.js';
export { default as AvahiLan, canRunAvahiLan } from './AvahiLan.js';
export type { AvahiLanHost, AvahiLanFamily } from './AvahiLan.js';
export * as errors from './errors.js';
