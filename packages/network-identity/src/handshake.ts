import type { NodeId } from '@node-network/network-interface';
import type { NetworkId } from './networks.js';
import type { MembershipClaim } from './claims.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as der from './der.js';
import * as x509 from '@peculiar/asn1-x509';
import * as errors from './errors.js';
import { verify } from './keys.js';
import { decodeNodeId, encodeNodeId, nodeIdEquals, nodeIdFromPublicKey } from './nodeId.js';
import { isPrivateNetwork, parseNetworkId } from './networks.js';
import { decodeMembershipClaim, verifyMembershipClaim } from './claims.js';
import {
  oidCommonName,
  oidEd25519,
  oidNetworkMembership,
  oidPolykeyNodeSignature,
} from './certificates.js';
import { show } from './utils.js';

/**
 * The agent protocol a peer speaks, read from its certificate: a certificate
 * with node-network's network extension is a node-network node; one without
 * it is a Polykey 1.x agent, which is sent only the 1.x agent methods.
 */
type PeerProtocol = 'node-network' | 'polykey-1';

/** What a verified peer proved in the handshake. */
type PeerIdentity = {
  nodeId: NodeId;
  protocol: PeerProtocol;
  /** The network it is admitted to (a Polykey 1.x agent declares none: the one `polykeyNetwork` names). */
  network: NetworkId;
  membershipClaim?: MembershipClaim;
  /** NodeIds along the chain, leaf first (more than one after key rotation). */
  chainNodeIds: Array<NodeId>;
  notAfter: Date;
};

/** A parsed certificate: only what verification needs. */
type ParsedCertificate = {
  der: Uint8Array;
  tbs: x509.TBSCertificate;
  tbsRaw: Uint8Array;
  signature: Uint8Array;
  publicKey: Uint8Array;
  subjectNodeId: NodeId;
  issuerNodeId: NodeId;
  notBefore: Date;
  notAfter: Date;
};

const maxChainLength = 8;
const maxCertificateBytes = 16 * 1024;

function commonNameOf(name: x509.Name, what: string): string {
  for (const rdn of name) {
    for (const atv of rdn) {
      if (atv.type === oidCommonName) {
        const v = atv.value.utf8String ?? atv.value.printableString ?? atv.value.ia5String;
        if (typeof v === 'string') return v;
      }
    }
  }
  throw new errors.ErrorCertificateMalformed(`Certificate ${what} has no common name`);
}

/** Strict parse of one certificate; throws `ErrorCertificateMalformed`. */
function parseCertificate(bytes: unknown): ParsedCertificate {
  if (
    !(bytes instanceof Uint8Array) ||
    bytes.byteLength === 0 ||
    bytes.byteLength > maxCertificateBytes
  ) {
    throw new errors.ErrorCertificateMalformed(
      `Certificate must be 1..${maxCertificateBytes} bytes of DER, got ${show(bytes)}`,
    );
  }
  let cert: x509.Certificate;
  try {
    cert = AsnConvert.parse(bytes, x509.Certificate);
  } catch (e) {
    throw new errors.ErrorCertificateMalformed('Certificate is not valid DER X.509', { cause: e });
  }
  const tbs = cert.tbsCertificate;
  if (
    cert.signatureAlgorithm?.algorithm !== oidEd25519 ||
    tbs?.signature?.algorithm !== oidEd25519 ||
    tbs.subjectPublicKeyInfo?.algorithm?.algorithm !== oidEd25519
  ) {
    throw new errors.ErrorCertificateMalformed('Certificate is not Ed25519');
  }
  const publicKey = new Uint8Array(tbs.subjectPublicKeyInfo.subjectPublicKey);
  if (publicKey.byteLength !== 32) {
    throw new errors.ErrorCertificateMalformed('Certificate public key is not 32 bytes');
  }
  let subjectNodeId: NodeId;
  let issuerNodeId: NodeId;
  try {
    subjectNodeId = decodeNodeId(commonNameOf(tbs.subject, 'subject'));
    issuerNodeId = decodeNodeId(commonNameOf(tbs.issuer, 'issuer'));
  } catch (e) {
    if (e instanceof errors.ErrorCertificateMalformed) throw e;
    throw new errors.ErrorCertificateMalformed('Certificate names are not NodeIds', { cause: e });
  }
  let notBefore: Date;
  let notAfter: Date;
  try {
    notBefore = tbs.validity.notBefore.getTime();
    notAfter = tbs.validity.notAfter.getTime();
  } catch (e) {
    throw new errors.ErrorCertificateMalformed('Certificate validity is malformed', { cause: e });
  }
  // The signed bytes exactly as received: the first element of the outer SEQUENCE.
  // Strict DER framing: one SEQUENCE spanning all the bytes, made of exactly
  // tbsCertificate, signatureAlgorithm and signatureValue.
  let tbsRaw: Uint8Array;
  try {
    const outer = der.readTlv(bytes, 0);
    const first = der.readTlv(bytes, outer.headerLength, outer.end);
    const second = der.readTlv(bytes, first.end, outer.end);
    const third = der.readTlv(bytes, second.end, outer.end);
    // signatureAlgorithm must be exactly Ed25519 without parameters, and
    // signatureValue a BIT STRING of 64 bytes with no unused bits.
    const algorithm = Buffer.from(bytes.subarray(second.start, second.end)).toString('hex');
    const sigContent = bytes.subarray(third.start + third.headerLength, third.end);
    if (
      outer.tag !== 0x30 ||
      outer.end !== bytes.byteLength ||
      first.tag !== 0x30 ||
      algorithm !== '300506032b6570' ||
      third.tag !== 0x03 ||
      third.end !== outer.end ||
      sigContent.byteLength !== 65 ||
      sigContent[0] !== 0
    ) {
      throw new errors.ErrorCertificateMalformed('Certificate is not strict DER');
    }
    tbsRaw = bytes.subarray(first.start, first.end);
  } catch (e) {
    throw new errors.ErrorCertificateMalformed('Certificate DER is malformed', { cause: e });
  }
  return {
    der: bytes,
    tbs,
    tbsRaw,
    signature: new Uint8Array(cert.signatureValue),
    publicKey,
    subjectNodeId,
    issuerNodeId,
    notBefore,
    notAfter,
  };
}

function extensionValue(c: ParsedCertificate, oid: string): Uint8Array | undefined {
  return der.findExtension(c.tbsRaw, oid);
}

function octetStringContent(bytes: Uint8Array, what: string): Uint8Array {
  try {
    return der.octetStringContent(bytes);
  } catch (e) {
    throw new errors.ErrorCertificateMalformed(`${what} is not an OCTET STRING`, { cause: e });
  }
}

function checkNodeSignature(c: ParsedCertificate): void {
  const ext = extensionValue(c, oidPolykeyNodeSignature);
  if (ext == null) {
    throw new errors.ErrorCertificateNodeSignatureInvalid(
      `Certificate of ${encodeNodeId(c.subjectNodeId)} lacks the node-signature extension`,
    );
  }
  const sig = octetStringContent(ext, 'Node signature');
  const signed = der.tbsWithoutExtension(c.tbsRaw, oidPolykeyNodeSignature);
  if (!verify(c.publicKey, signed, sig)) {
    throw new errors.ErrorCertificateNodeSignatureInvalid(
      `Node signature of ${encodeNodeId(c.subjectNodeId)}'s certificate does not verify`,
    );
  }
}

function readNetworkExtension(c: ParsedCertificate): {
  network: NetworkId | undefined;
  claim?: MembershipClaim;
} {
  const ext = extensionValue(c, oidNetworkMembership);
  if (ext == null) return { network: undefined };
  const content = octetStringContent(ext, 'Network extension');
  let o: any;
  try {
    o = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(content));
  } catch (e) {
    throw new errors.ErrorCertificateMalformed('Network extension is not UTF-8 JSON', { cause: e });
  }
  if (o == null || typeof o !== 'object' || o.v !== 1) {
    throw new errors.ErrorCertificateMalformed('Network extension has an unknown version');
  }
  let network: NetworkId;
  try {
    network = parseNetworkId(o.network);
  } catch (e) {
    throw new errors.ErrorCertificateMalformed('Network extension names an invalid network', {
      cause: e,
    });
  }
  if (o.claim == null) return { network };
  if (typeof o.claim !== 'string' || o.claim.length > 2048) {
    throw new errors.ErrorCertificateMalformed('Network extension claim is malformed');
  }
  try {
    return {
      network,
      claim: decodeMembershipClaim(new Uint8Array(Buffer.from(o.claim, 'base64url'))),
    };
  } catch (e) {
    throw new errors.ErrorCertificateMalformed('Network extension claim is malformed', {
      cause: e,
    });
  }
}

/**
 * Verifies a peer's certificate chain (DER, leaf first, as TLS hands it
 * over) and returns who the peer is. Checks, in order: every certificate
 * parses and is Ed25519; each certificate's key IS the NodeId it names;
 * each is signed by the next one's key (the last by itself) and carries a
 * valid node signature; the leaf is within its validity; the peer is the
 * expected node (if one is expected); the peer declares our network; and,
 * for a private network, holds a valid membership claim. Any failure throws a
 * typed `ErrorCertificate*` / `ErrorMembershipClaim*`, never anything else.
 */
async function verifyPeerCertificateChain(
  chain: ReadonlyArray<Uint8Array>,
  {
    network,
    now,
    expectedNodeId,
    polykeyNetwork = 'mainnet',
  }: {
    network: NetworkId;
    now: Date;
    expectedNodeId?: NodeId;
    /**
     * The network Polykey 1.x agents (certificates without a network
     * extension) are members of: `mainnet` by default, `null` for none. A
     * private network never admits them (they cannot hold a claim).
     */
    polykeyNetwork?: 'mainnet' | 'testnet' | null;
  },
): Promise<PeerIdentity> {
  if (!Array.isArray(chain) || chain.length === 0 || chain.length > maxChainLength) {
    throw new errors.ErrorCertificateChainInvalid(
      `Certificate chain must hold 1..${maxChainLength} certificates, got ${show(Array.isArray(chain) ? chain.length : chain)}`,
    );
  }
  let parsed: Array<ParsedCertificate>;
  try {
    parsed = chain.map(parseCertificate);
  } catch (e) {
    if (e instanceof errors.ErrorCertificate) throw e;
    throw new errors.ErrorCertificateMalformed('Certificate chain is malformed', { cause: e });
  }
  for (let i = 0; i < parsed.length; i++) {
    const c = parsed[i];
    if (!nodeIdEquals(nodeIdFromPublicKey(c.publicKey), c.subjectNodeId)) {
      throw new errors.ErrorCertificateKeyMismatch(
        `Certificate names ${encodeNodeId(c.subjectNodeId)} but holds the key of ${encodeNodeId(nodeIdFromPublicKey(c.publicKey))}`,
      );
    }
    const issuer = parsed[i + 1] ?? c;
    if (!nodeIdEquals(c.issuerNodeId, issuer.subjectNodeId)) {
      throw new errors.ErrorCertificateChainInvalid(
        `Certificate ${i} is issued by ${encodeNodeId(c.issuerNodeId)}, but the next in the chain is ${encodeNodeId(issuer.subjectNodeId)}`,
      );
    }
    if (!verify(issuer.publicKey, c.tbsRaw, c.signature)) {
      throw new errors.ErrorCertificateSignatureInvalid(
        `Certificate of ${encodeNodeId(c.subjectNodeId)} is not signed by ${encodeNodeId(issuer.subjectNodeId)}`,
      );
    }
    try {
      checkNodeSignature(c);
    } catch (e) {
      if (e instanceof errors.ErrorCertificate) throw e;
      throw new errors.ErrorCertificateNodeSignatureInvalid('Node signature cannot be checked', {
        cause: e,
      });
    }
  }
  const leaf = parsed[0];
  const t = now.getTime();
  if (t < leaf.notBefore.getTime() || t > leaf.notAfter.getTime()) {
    throw new errors.ErrorCertificateExpired(
      `Certificate of ${encodeNodeId(leaf.subjectNodeId)} is valid ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()}, now is ${now.toISOString()}`,
    );
  }
  if (expectedNodeId != null && !nodeIdEquals(expectedNodeId, leaf.subjectNodeId)) {
    throw new errors.ErrorCertificateNodeIdMismatch(
      `Expected ${encodeNodeId(expectedNodeId)}, the peer is ${encodeNodeId(leaf.subjectNodeId)}`,
    );
  }
  const declared = readNetworkExtension(leaf);
  if (declared.network == null) {
    if (polykeyNetwork == null || polykeyNetwork !== network || isPrivateNetwork(network)) {
      throw new errors.ErrorNetworkMismatch(
        `We are on ${network}; ${encodeNodeId(leaf.subjectNodeId)} is a Polykey 1.x agent (no declared network), admitted only on ${polykeyNetwork ?? 'no network'}`,
        { data: { ours: network, theirs: null } },
      );
    }
    return {
      nodeId: leaf.subjectNodeId,
      protocol: 'polykey-1',
      network,
      chainNodeIds: parsed.map((c) => c.subjectNodeId),
      notAfter: leaf.notAfter,
    };
  }
  if (declared.network !== network) {
    throw new errors.ErrorNetworkMismatch(
      `We are on ${network}; ${encodeNodeId(leaf.subjectNodeId)} is on ${declared.network ?? 'no declared network'}`,
      { data: { ours: network, theirs: declared.network ?? null } },
    );
  }
  if (isPrivateNetwork(network)) {
    if (declared.claim == null) {
      throw new errors.ErrorMembershipClaimMissing(
        `${encodeNodeId(leaf.subjectNodeId)} presents no membership claim for ${network}`,
      );
    }
    verifyMembershipClaim(declared.claim, { networkId: network, nodeId: leaf.subjectNodeId, now });
  }
  return {
    nodeId: leaf.subjectNodeId,
    protocol: 'node-network',
    network: declared.network,
    membershipClaim: declared.claim,
    chainNodeIds: parsed.map((c) => c.subjectNodeId),
    notAfter: leaf.notAfter,
  };
}

/** The NodeId a certificate claims (unverified; for logs about refused peers). */
function claimedNodeIdOfCertificate(der: Uint8Array): string {
  return encodeNodeId(parseCertificate(der).subjectNodeId);
}

export type { PeerIdentity, PeerProtocol, ParsedCertificate };
export { verifyPeerCertificateChain, parseCertificate, claimedNodeIdOfCertificate };
