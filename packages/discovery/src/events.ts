import type { NodeId, NodeIdEncoded } from '@node-network/network-interface';
import type { MdnsPeer } from './mdns/MdnsDiscovery.js';
import { AbstractEvent } from '@matrixai/events';

abstract class EventMdnsDiscovery<T = undefined> extends AbstractEvent<T> {}

class EventMdnsDiscoveryStart extends EventMdnsDiscovery {}
class EventMdnsDiscoveryStarted extends EventMdnsDiscovery {}
class EventMdnsDiscoveryStop extends EventMdnsDiscovery {}
class EventMdnsDiscoveryStopped extends EventMdnsDiscovery {}

/**
 * A candidate peer of our network on the local link: first seen
 * (`firstSeen`) or its addresses/port changed. Unauthenticated: dial it and
 * let the handshake prove the NodeId before trusting it.
 */
class EventMdnsPeer extends EventMdnsDiscovery<MdnsPeer & { firstSeen: boolean }> {}

/** A peer we reported is gone: it said goodbye, its records expired, or avahi removed it. */
class EventMdnsPeerGone extends EventMdnsDiscovery<{
  nodeId: NodeId;
  nodeIdEncoded: NodeIdEncoded;
  reason: 'goodbye' | 'expired' | 'removed';
}> {}

/** A service of our type that is not reported as a peer, and why (once per instance and reason). */
class EventMdnsPeerIgnored extends EventMdnsDiscovery<{
  instance: string;
  reason: 'other-network' | 'malformed';
  nodeIdEncoded?: string;
  networkId?: string;
  detail: string;
}> {}

/** The backend failed while running (avahi's tools exited, a send failed, a name conflict). */
class EventMdnsError extends EventMdnsDiscovery<Error> {}

export {
  EventMdnsDiscovery,
  EventMdnsDiscoveryStart,
  EventMdnsDiscoveryStarted,
  EventMdnsDiscoveryStop,
  EventMdnsDiscoveryStopped,
  EventMdnsPeer,
  EventMdnsPeerGone,
  EventMdnsPeerIgnored,
  EventMdnsError,
};
