/**
 * @packageDocumentation
 * Port mapping on the local gateway: PCP (RFC 6887), NAT-PMP (RFC 6886) and
 * UPnP IGD (SSDP, device description, SOAP), with lease renewal, external
 * address reporting and an audit event for every try. `PortMapper` is the
 * lifecycle class; the clients and the codecs under `protocol` are exported
 * for reuse and tests. Real I/O (node:dgram, node:http, /proc/net/route)
 * sits in small injected functions.
 */
export { default as PortMapper } from './PortMapper.js';
export { portMapperConfigDefault } from './config.js';
export { default as NatPmpClient } from './NatPmpClient.js';
export { default as PcpClient } from './PcpClient.js';
export { default as UpnpClient } from './UpnpClient.js';
export { default as nodeUdpSocket } from './nodeUdpSocket.js';
export { default as nodeHttpRequest } from './nodeHttpRequest.js';
export { default as defaultGatewayFromProc } from './defaultGateway.js';
export * as natpmp from './protocol/natpmp.js';
export * as pcp from './protocol/pcp.js';
export * as ssdp from './protocol/ssdp.js';
export * as igd from './protocol/igd.js';
export * as soap from './protocol/soap.js';
export * as xml from './protocol/xml.js';
export * as ipv4 from './protocol/ipv4.js';
export * as route from './protocol/route.js';
export * as schedule from './protocol/schedule.js';
export * as errors from './errors.js';
export * as events from './events.js';
export type * from './types.js';
