/**
 * @packageDocumentation
 * Discovery: Kademlia's iterative lookup, written against an injected query
 * function so it runs over real RPC and in the simulator; and local-network
 * discovery by mDNS / DNS-SD (`MdnsDiscovery`), through the OS's
 * avahi-daemon where it runs, else through our own RFC 6762 responder.
 */
export { iterativeLookup } from './lookup.js';
export type { LookupContact, LookupResult } from './lookup.js';
export { default as MdnsDiscovery, txtKeys } from './mdns/MdnsDiscovery.js';
export type { MdnsPeer, MdnsPeerAddress, MdnsBackendChoice } from './mdns/MdnsDiscovery.js';
export { default as AvahiBackend } from './mdns/AvahiBackend.js';
export { default as ResponderBackend } from './mdns/ResponderBackend.js';
export { default as openDgramMulticastSocket } from './mdns/DgramMulticastSocket.js';
export { default as osInterfaces } from './mdns/osInterfaces.js';
export { default as spawnProcess } from './mdns/childProcess.js';
export type * from './mdns/types.js';
export * as mdnsProtocol from './mdns/protocol/index.js';
export * as events from './events.js';
export * as errors from './errors.js';
