import type { NodeId } from '@node-network/network-interface';
import type { KeyPair } from './keys.js';
import type { NetworkId } from './networks.js';
import type { MembershipClaim } from './claims.js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/asn1-x509';
import crypto from 'node:crypto';
import { sign } from './keys.js';
import { encodeNodeId, nodeIdFromPublicKey } from './nodeId.js';
import { encodeMembershipClaim } from './claims.js';
import { toArrayBuffer } from './utils.js';

/**
 * X.509 certificates binding a NodeId, in Polykey 1.x's layout:
 * - v3, Ed25519 (OID 1.3.101.112), subject CN = NodeId text, issuer CN = the
 *   issuer's NodeId text (the subject's own when self-signed);
 * - basicConstraints CA:TRUE (critical); subjectAltName DNS:<NodeId> and
 *   URI:pk://<NodeId>;
 * - 1.3.6.1.4.1.57167.2.2.1: IA5String version ("1");
 * - node-network's network extension (below);
 * - 1.3.6.1.4.1.57167.2.2.2 (last): OCTET STRING holding a 64-byte Ed25519
 *   signature by the SUBJECT key over the DER TBSCertificate without this
 *   extension (Polykey agents refuse certificates without it).
 * Key rotation: a new key's certificate is issued (signed) by the previous
 * key, and the chain [new, previous, ...] is presented leaf first.
 */

const oidEd25519 = '1.3.101.112';
const oidCommonName = '2.5.4.3';
const oidPolykeyVersion = '1.3.6.1.4.1.57167.2.2.1';
const oidPolykeyNodeSignature = '1.3.6.1.4.1.57167.2.2.2';
/**
 * node-network's arc: next to Polykey's certificate extensions, as
 * 1.3.6.1.4.1.57167.2.2.3 (to be confirmed by MatrixAI, which holds PEN
 * 57167). The `.1` under it is the network membership extension: a
 * non-critical OCTET STRING whose content is the UTF-8 JSON
 * {"v":1,"network":"<NetworkId>","claim":"<base64url encoded membership
 * claim>"|null}.
 * Every arc must fit in 2^53: Polykey 1.x re-encodes the TBSCertificate
 * with asn1js to check the node signature, and asn1js mangles larger arcs
 * (a 2.25.<UUID> OID made every 1.x agent refuse our certificates, alert 298).
 */
const oidNodeNetworkArc = '1.3.6.1.4.1.57167.2.2.3';
const oidNetworkMembership = `${oidNodeNetworkArc}.1`;
const certificateVersion = '1';

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: Array<number> = [];
  for (let x = n; x > 0; x >>= 8) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derPrimitive(tag: number, content: Uint8Array): ArrayBuffer {
  return toArrayBuffer(Buffer.concat([Buffer.from([tag]), derLength(content.byteLength), content]));
}

function commonName(cn: string): x509.Name {
  return new x509.Name([
    new x509.RelativeDistinguishedName([
      new x509.AttributeTypeAndValue({
        type: oidCommonName,
        value: new x509.AttributeValue({ utf8String: cn }),
      }),
    ]),
  ]);
}

function extension(extnID: string, critical: boolean, der: ArrayBuffer): x509.Extension {
  return new x509.Extension({ extnID, critical, extnValue: new OctetString(der) });
}

function networkExtensionContent(network: NetworkId, claim?: MembershipClaim): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      v: 1,
      network,
      claim: claim == null ? null : Buffer.from(encodeMembershipClaim(claim)).toString('base64url'),
    }),
    'utf8',
  );
}

/**
 * Makes a certificate for `subjectKeyPair`, signed by `issuerKeyPair`
 * (default: self-signed). Returns DER.
 */
async function createCertificate({
  subjectKeyPair,
  issuerKeyPair = subjectKeyPair,
  network,
  membershipClaim,
  now,
  durationSeconds,
  serial,
  subjectNodeId,
}: {
  subjectKeyPair: KeyPair;
  issuerKeyPair?: KeyPair;
  /** `null`: no network extension, the layout of a Polykey 1.x agent's certificate. */
  network: NetworkId | null;
  membershipClaim?: MembershipClaim;
  now: Date;
  durationSeconds: number;
  serial?: Uint8Array;
  /**
   * The NodeId the certificate names; the subject key's by default. Naming
   * another makes a spoofed certificate (well signed, but its key is not the
   * NodeId it names), which every verifier must refuse: tests make them.
   */
  subjectNodeId?: NodeId;
}): Promise<Uint8Array> {
  const subject = encodeNodeId(subjectNodeId ?? nodeIdFromPublicKey(subjectKeyPair.publicKey));
  const issuer =
    issuerKeyPair === subjectKeyPair
      ? subject
      : encodeNodeId(nodeIdFromPublicKey(issuerKeyPair.publicKey));
  const serialBytes = Buffer.from(serial ?? crypto.randomBytes(16));
  serialBytes[0] &= 0x7f; // positive INTEGER
  if (serialBytes[0] === 0) serialBytes[0] = 1; // minimal encoding
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + durationSeconds * 1000);
  const algorithm = new x509.AlgorithmIdentifier({ algorithm: oidEd25519 });
  const extensions = [
    extension(
      oidPolykeyVersion,
      false,
      derPrimitive(0x16, Buffer.from(certificateVersion, 'ascii')),
    ),
    extension(
      x509.id_ce_basicConstraints,
      true,
      AsnConvert.serialize(new x509.BasicConstraints({ cA: true })),
    ),
    extension(
      x509.id_ce_subjectAltName,
      false,
      AsnConvert.serialize(
        new x509.SubjectAlternativeName([
          new x509.GeneralName({ dNSName: subject }),
          new x509.GeneralName({ uniformResourceIdentifier: `pk://${subject}` }),
        ]),
      ),
    ),
  ];
  if (network != null) {
    extensions.push(
      extension(
        oidNetworkMembership,
        false,
        derPrimitive(0x04, networkExtensionContent(network, membershipClaim)),
      ),
    );
  }
  const tbs = new x509.TBSCertificate({
    version: x509.Version.v3,
    serialNumber: toArrayBuffer(serialBytes),
    signature: algorithm,
    issuer: commonName(issuer),
    validity: new x509.Validity({ notBefore, notAfter }),
    subject: commonName(subject),
    subjectPublicKeyInfo: new x509.SubjectPublicKeyInfo({
      algorithm,
      subjectPublicKey: toArrayBuffer(subjectKeyPair.publicKey),
    }),
    extensions: new x509.Extensions(extensions),
  });
  const nodeSignature = sign(subjectKeyPair.privateKey, new Uint8Array(AsnConvert.serialize(tbs)));
  tbs.extensions!.push(
    extension(oidPolykeyNodeSignature, false, derPrimitive(0x04, nodeSignature)),
  );
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const cert = new x509.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: toArrayBuffer(sign(issuerKeyPair.privateKey, tbsDer)),
  });
  return new Uint8Array(AsnConvert.serialize(cert));
}

function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function certificateChainToPem(chain: ReadonlyArray<Uint8Array>): string {
  return chain.map(certificateToPem).join('');
}

/** The DER certificates of a PEM text, in order. */
function pemToDer(pem: string): Array<Uint8Array> {
  const out: Array<Uint8Array> = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;
  for (let m = re.exec(pem); m != null; m = re.exec(pem)) {
    out.push(new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
  }
  return out;
}

export {
  createCertificate,
  certificateToPem,
  certificateChainToPem,
  pemToDer,
  oidEd25519,
  oidCommonName,
  oidPolykeyVersion,
  oidPolykeyNodeSignature,
  oidNodeNetworkArc,
  oidNetworkMembership,
};
