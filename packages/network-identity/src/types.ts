export type { KeyPair } from './keys.js';
export type { NetworkId, PrivateNetworkId } from './networks.js';
export type { MembershipClaim } from './claims.js';
export type { PeerIdentity, ParsedCertificate } from './handshake.js';
