import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import * as identity from '../src/index.js';
import * as errors from '../src/errors.js';
import { encodeOid } from '../src/der.js';

const now = new Date();
const hour = 3600;

async function certFor(
  kp: identity.KeyPair,
  network: identity.NetworkId = 'testnet',
  opts: Partial<Parameters<typeof identity.createCertificate>[0]> = {},
) {
  return identity.createCertificate({
    subjectKeyPair: kp,
    network,
    now,
    durationSeconds: hour,
    ...opts,
  });
}

describe('certificates and handshake verification', () => {
  test('a fresh certificate verifies and names its key', async () => {
    const kp = identity.generateKeyPair();
    const der = await certFor(kp);
    const peer = await identity.verifyPeerCertificateChain([der], { network: 'testnet', now });
    expect(identity.nodeIdEquals(peer.nodeId, identity.nodeIdFromPublicKey(kp.publicKey))).toBe(
      true,
    );
    expect(peer.network).toBe('testnet');
    expect(identity.pemToDer(identity.certificateToPem(der))[0]).toEqual(der);
  });

  test('network mismatch is refused with both networks named', async () => {
    const der = await certFor(identity.generateKeyPair(), 'mainnet');
    const p = identity.verifyPeerCertificateChain([der], { network: 'testnet', now });
    await expect(p).rejects.toBeInstanceOf(errors.ErrorNetworkMismatch);
    await expect(p).rejects.toThrow(/testnet.*mainnet/);
  });

  test('a Polykey 1.x certificate (no network extension) is a mainnet member only', async () => {
    const kp = identity.generateKeyPair();
    const der = await identity.createCertificate({
      subjectKeyPair: kp,
      network: null,
      now,
      durationSeconds: hour,
    });
    const peer = await identity.verifyPeerCertificateChain([der], { network: 'mainnet', now });
    expect(peer.protocol).toBe('polykey-1');
    expect(peer.network).toBe('mainnet');
    const ours = await identity.verifyPeerCertificateChain([await certFor(kp, 'mainnet')], {
      network: 'mainnet',
      now,
    });
    expect(ours.protocol).toBe('node-network');
    const authority = identity.generateKeyPair();
    for (const network of ['testnet', identity.privateNetworkId(authority.publicKey)] as const) {
      await expect(
        identity.verifyPeerCertificateChain([der], { network, now }),
      ).rejects.toBeInstanceOf(errors.ErrorNetworkMismatch);
    }
    await expect(
      identity.verifyPeerCertificateChain([der], { network: 'mainnet', now, polykeyNetwork: null }),
    ).rejects.toBeInstanceOf(errors.ErrorNetworkMismatch);
    await expect(
      identity.verifyPeerCertificateChain([der], {
        network: 'testnet',
        now,
        polykeyNetwork: 'testnet',
      }),
    ).resolves.toMatchObject({ protocol: 'polykey-1', network: 'testnet' });
  });

  test('an unexpected NodeId is refused', async () => {
    const der = await certFor(identity.generateKeyPair());
    const other = identity.nodeIdFromPublicKey(identity.generateKeyPair().publicKey);
    await expect(
      identity.verifyPeerCertificateChain([der], {
        network: 'testnet',
        now,
        expectedNodeId: other,
      }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificateNodeIdMismatch);
  });

  test('a certificate whose CN names a key it does not hold is refused', async () => {
    // Mallory signs a certificate for her own key but it names the victim: a
    // spoofed NodeId. The issuer is the victim too, so only the key check catches it.
    const victim = identity.generateKeyPair();
    const mallory = identity.generateKeyPair();
    const spoof = await identity.createCertificate({
      subjectKeyPair: { publicKey: victim.publicKey, privateKey: mallory.privateKey },
      network: 'testnet',
      now,
      durationSeconds: hour,
    });
    await expect(
      identity.verifyPeerCertificateChain([spoof], { network: 'testnet', now }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificate);
    // And with mallory's real key in the SPKI but the victim's name:
    const x = Buffer.from(await certFor(mallory));
    const malloryText = identity.encodeNodeId(identity.nodeIdFromPublicKey(mallory.publicKey));
    const victimText = identity.encodeNodeId(identity.nodeIdFromPublicKey(victim.publicKey));
    const renamed = Buffer.from(x.toString('latin1').split(malloryText).join(victimText), 'latin1');
    await expect(
      identity.verifyPeerCertificateChain([renamed], { network: 'testnet', now }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificateKeyMismatch);
  });

  test('expired and not-yet-valid certificates are refused', async () => {
    const kp = identity.generateKeyPair();
    const old = await certFor(kp, 'testnet', { now: new Date(now.getTime() - 10 * hour * 1000) });
    await expect(
      identity.verifyPeerCertificateChain([old], { network: 'testnet', now }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificateExpired);
    const future = await certFor(kp, 'testnet', {
      now: new Date(now.getTime() + 10 * hour * 1000),
    });
    await expect(
      identity.verifyPeerCertificateChain([future], { network: 'testnet', now }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificateExpired);
  });

  test('key rotation: the new key, issued by the old, verifies as a chain; a broken chain does not', async () => {
    const oldKp = identity.generateKeyPair();
    const newKp = identity.generateKeyPair();
    const oldCert = await certFor(oldKp);
    const newCert = await certFor(newKp, 'testnet', { issuerKeyPair: oldKp });
    const peer = await identity.verifyPeerCertificateChain([newCert, oldCert], {
      network: 'testnet',
      now,
    });
    expect(identity.nodeIdEquals(peer.nodeId, identity.nodeIdFromPublicKey(newKp.publicKey))).toBe(
      true,
    );
    expect(peer.chainNodeIds).toHaveLength(2);
    // Leaf alone: its issuer is missing.
    await expect(
      identity.verifyPeerCertificateChain([newCert], { network: 'testnet', now }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificateChainInvalid);
    // Wrong previous certificate.
    const stranger = await certFor(identity.generateKeyPair());
    await expect(
      identity.verifyPeerCertificateChain([newCert, stranger], { network: 'testnet', now }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificateChainInvalid);
  });

  test('private networks need a valid claim in the certificate', async () => {
    const authority = identity.generateKeyPair();
    const network = identity.privateNetworkId(authority.publicKey);
    const kp = identity.generateKeyPair();
    const claim = identity.createMembershipClaim({
      authorityPrivateKey: authority.privateKey,
      networkId: network,
      nodeId: identity.nodeIdFromPublicKey(kp.publicKey),
      issuedAt: new Date(now.getTime() - 1000),
      expiresAt: new Date(now.getTime() + 3600_000),
    });
    const ok = await certFor(kp, network, { membershipClaim: claim });
    const peer = await identity.verifyPeerCertificateChain([ok], { network, now });
    expect(peer.membershipClaim).toBeDefined();
    const none = await certFor(kp, network);
    await expect(
      identity.verifyPeerCertificateChain([none], { network, now }),
    ).rejects.toBeInstanceOf(errors.ErrorMembershipClaimMissing);
    const expired = identity.createMembershipClaim({
      authorityPrivateKey: authority.privateKey,
      networkId: network,
      nodeId: identity.nodeIdFromPublicKey(kp.publicKey),
      issuedAt: new Date(now.getTime() - 7200_000),
      expiresAt: new Date(now.getTime() - 3600_000),
    });
    const late = await certFor(kp, network, { membershipClaim: expired });
    await expect(
      identity.verifyPeerCertificateChain([late], { network, now }),
    ).rejects.toBeInstanceOf(errors.ErrorClaimExpired);
    // Someone else's claim inside my certificate.
    const theirs = await certFor(identity.generateKeyPair(), network, { membershipClaim: claim });
    await expect(
      identity.verifyPeerCertificateChain([theirs], { network, now }),
    ).rejects.toBeInstanceOf(errors.ErrorClaimWrongNode);
  });

  test('a certificate without the node-signature extension is refused', async () => {
    const kp = identity.generateKeyPair();
    const der = Buffer.from(await certFor(kp));
    // Corrupt the node signature's bytes (the last extension's OCTET STRING).
    const oid = Buffer.from(encodeOid(identity.oidPolykeyNodeSignature));
    const at = der.indexOf(oid);
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(der);
    tampered[at + oid.length + 6] ^= 0xff;
    await expect(
      identity.verifyPeerCertificateChain([tampered], { network: 'testnet', now }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificate);
  });

  testProp.prop([fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 4 })])(
    'random byte chains are refused with typed errors',
    async (chain) => {
      await expect(
        identity.verifyPeerCertificateChain(chain, { network: 'testnet', now }),
      ).rejects.toBeInstanceOf(errors.ErrorCertificate);
    },
  );

  testProp.prop([fc.nat(700), fc.integer({ min: 0, max: 255 })], { numRuns: 200 })(
    'any single-byte change to a certificate is refused or changes nothing that matters',
    async (pos, byte) => {
      const kp = identity.generateKeyPair();
      const der = await certFor(kp);
      const i = pos % der.byteLength;
      if (der[i] === byte) return;
      const changed = new Uint8Array(der);
      changed[i] = byte;
      try {
        const peer = await identity.verifyPeerCertificateChain([changed], {
          network: 'testnet',
          now,
        });
        // Only bytes outside what is signed (none) could pass: fail loudly.
        expect(identity.nodeIdEquals(peer.nodeId, identity.nodeIdFromPublicKey(kp.publicKey))).toBe(
          true,
        );
        throw new Error(`byte ${i} changed and the certificate still verified`);
      } catch (e) {
        expect(e).toBeInstanceOf(errors.ErrorCertificate);
      }
    },
  );

  test('every byte outside the signed TBS is pinned: any change is refused', async () => {
    const der = await certFor(identity.generateKeyPair());
    const tbsLength = ((der[6] << 8) | der[7]) + 4; // outer 30 82 LL LL, then TBS 30 82 LL LL
    for (let i = 4 + tbsLength; i < der.byteLength; i++) {
      for (const delta of [1, 0x80]) {
        const changed = new Uint8Array(der);
        changed[i] ^= delta;
        await expect(
          identity.verifyPeerCertificateChain([changed], { network: 'testnet', now }),
        ).rejects.toBeInstanceOf(errors.ErrorCertificate);
      }
    }
  });

  testProp.prop([fc.anything()])('hostile chain arguments are refused typed', async (x) => {
    await expect(
      identity.verifyPeerCertificateChain(x as any, { network: 'testnet', now }),
    ).rejects.toBeInstanceOf(errors.ErrorCertificate);
  });
});
