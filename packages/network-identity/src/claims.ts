import type { NodeId } from '@node-network/network-interface';
import type { NetworkId } from './networks.js';
import * as errors from './errors.js';
import { sign, verify } from './keys.js';
import { decodeNodeId, encodeNodeId, nodeIdEquals } from './nodeId.js';
import { isPrivateNetwork, networkAuthority, parseNetworkId } from './networks.js';
import { show } from './utils.js';

/**
 * A private network's authority admits one node until a time. Encoding
 * (version 1): UTF-8 JSON with exactly these keys, in this order:
 *   {"v":1,"network":"private:v…","node":"v…","iat":<unix s>,"exp":<unix s>,"sig":"<base64url>"}
 * The signature is Ed25519 by the authority over the domain tag
 * "node-network/membership-claim/v1\n" followed by the same JSON without
 * "sig". At most 1 KiB.
 */
type MembershipClaim = {
  readonly network: NetworkId;
  readonly nodeId: NodeId;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly signature: Uint8Array;
};

const claimMaxBytes = 1024;
const domain = 'node-network/membership-claim/v1\n';

function payloadText(c: Omit<MembershipClaim, 'signature'>): string {
  return JSON.stringify({
    v: 1,
    network: c.network,
    node: encodeNodeId(c.nodeId),
    iat: Math.floor(c.issuedAt.getTime() / 1000),
    exp: Math.floor(c.expiresAt.getTime() / 1000),
  });
}

function signedBytes(c: Omit<MembershipClaim, 'signature'>): Uint8Array {
  return Buffer.from(domain + payloadText(c), 'utf8');
}

function createMembershipClaim({
  authorityPrivateKey,
  networkId,
  nodeId,
  issuedAt,
  expiresAt,
}: {
  authorityPrivateKey: Uint8Array;
  networkId: NetworkId;
  nodeId: NodeId;
  issuedAt: Date;
  expiresAt: Date;
}): MembershipClaim {
  // Times are carried in whole seconds.
  const body = {
    network: networkId,
    nodeId,
    issuedAt: new Date(Math.floor(issuedAt.getTime() / 1000) * 1000),
    expiresAt: new Date(Math.floor(expiresAt.getTime() / 1000) * 1000),
  };
  return { ...body, signature: sign(authorityPrivateKey, signedBytes(body)) };
}

function encodeMembershipClaim(claim: MembershipClaim): Uint8Array {
  const payload = payloadText(claim);
  const sig = Buffer.from(claim.signature).toString('base64url');
  return Buffer.from(`${payload.slice(0, -1)},"sig":"${sig}"}`, 'utf8');
}

const keys = ['v', 'network', 'node', 'iat', 'exp', 'sig'];

function decodeMembershipClaim(bytes: unknown): MembershipClaim {
  if (!(bytes instanceof Uint8Array)) {
    throw new errors.ErrorClaimMalformed(`Membership claim must be bytes, got ${show(bytes)}`);
  }
  if (bytes.byteLength > claimMaxBytes) {
    throw new errors.ErrorClaimMalformed(
      `Membership claim of ${bytes.byteLength} bytes exceeds ${claimMaxBytes}`,
    );
  }
  let o: any;
  try {
    o = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new errors.ErrorClaimMalformed('Membership claim is not UTF-8 JSON', { cause: e });
  }
  if (
    o == null ||
    typeof o !== 'object' ||
    Array.isArray(o) ||
    Object.keys(o).join() !== keys.join()
  ) {
    throw new errors.ErrorClaimMalformed(
      `Membership claim must have exactly the keys ${keys.join(', ')}`,
    );
  }
  if (o.v !== 1) throw new errors.ErrorClaimMalformed(`Unknown claim version ${show(o.v)}`);
  for (const k of ['iat', 'exp']) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 0 || o[k] > 253402300799) {
      throw new errors.ErrorClaimMalformed(`Claim field ${k} is not a valid time: ${show(o[k])}`);
    }
  }
  if (typeof o.sig !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(o.sig)) {
    throw new errors.ErrorClaimMalformed('Claim signature is not 64 bytes of base64url');
  }
  let network: NetworkId;
  let nodeId: NodeId;
  try {
    network = parseNetworkId(o.network);
    nodeId = decodeNodeId(o.node);
  } catch (e) {
    throw new errors.ErrorClaimMalformed(`Claim names an invalid network or node`, { cause: e });
  }
  const claim: MembershipClaim = {
    network,
    nodeId,
    issuedAt: new Date(o.iat * 1000),
    expiresAt: new Date(o.exp * 1000),
    signature: new Uint8Array(Buffer.from(o.sig, 'base64url')),
  };
  // Canonical form only: re-encoding must give the same bytes.
  if (!Buffer.from(encodeMembershipClaim(claim)).equals(Buffer.from(bytes))) {
    throw new errors.ErrorClaimMalformed('Membership claim is not in canonical form');
  }
  return claim;
}

/**
 * Checks that `claim` admits `nodeId` to `networkId` at `now`: signed by the
 * network's authority, for this network and node, and within its validity.
 */
function verifyMembershipClaim(
  claim: MembershipClaim,
  { networkId, nodeId, now }: { networkId: NetworkId; nodeId: NodeId; now: Date },
): void {
  if (!isPrivateNetwork(networkId)) {
    throw new errors.ErrorClaimWrongNetwork(`${networkId} is open and takes no claims`);
  }
  if (claim.network !== networkId) {
    throw new errors.ErrorClaimWrongNetwork(`Claim is for ${claim.network}, not ${networkId}`);
  }
  if (!nodeIdEquals(claim.nodeId, nodeId)) {
    throw new errors.ErrorClaimWrongNode(
      `Claim is for ${encodeNodeId(claim.nodeId)}, not ${encodeNodeId(nodeId)}`,
    );
  }
  if (!verify(networkAuthority(networkId), signedBytes(claim), claim.signature)) {
    throw new errors.ErrorClaimSignatureInvalid(
      `Claim for ${encodeNodeId(nodeId)} is not signed by the authority of ${networkId}`,
    );
  }
  if (now.getTime() < claim.issuedAt.getTime()) {
    throw new errors.ErrorClaimNotYetValid(`Claim is valid from ${claim.issuedAt.toISOString()}`);
  }
  if (now.getTime() >= claim.expiresAt.getTime()) {
    throw new errors.ErrorClaimExpired(`Claim expired at ${claim.expiresAt.toISOString()}`);
  }
}

export type { MembershipClaim };
export {
  createMembershipClaim,
  encodeMembershipClaim,
  decodeMembershipClaim,
  verifyMembershipClaim,
  claimMaxBytes,
};
