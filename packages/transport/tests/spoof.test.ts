import { describe, test, expect } from '@jest/globals';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { startTransport } from './utils.js';

/**
 * A spoofed certificate: well signed by Mallory's key (the X.509 signature
 * and the Polykey node signature both verify), but naming the victim's
 * NodeId. Polykey 1.x accepts it; we refuse it in both directions.
 */
async function spoofedChain(
  mallory: identity.KeyPair,
  victim: identity.KeyPair,
  network: identity.NetworkId | null,
): Promise<Array<Uint8Array>> {
  return [
    await identity.createCertificate({
      subjectKeyPair: mallory,
      subjectNodeId: identity.nodeIdFromPublicKey(victim.publicKey),
      network,
      now: new Date(),
      durationSeconds: 3600,
    }),
  ];
}

describe('a certificate naming another NodeId than its key', () => {
  for (const network of ['mainnet', null] as const) {
    const as = network == null ? 'a Polykey 1.x certificate' : 'a node-network certificate';
    test(`is refused inbound (${as})`, async () => {
      const victim = identity.generateKeyPair();
      const mallory = identity.generateKeyPair();
      const server = await startTransport({ network: 'mainnet' });
      const spoofer = await startTransport({
        network: 'mainnet',
        keyPair: mallory,
        certificateChain: await spoofedChain(mallory, victim, network),
      });
      const refused: Array<unknown> = [];
      server.addEventListener('EventAudit', (e: any) => refused.push(e.detail));
      let accepted = 0;
      server.onConnection(() => accepted++);
      try {
        await expect(spoofer.dial(server.nodeId, server.localAddresses[0])).rejects.toBeInstanceOf(
          baseErrors.ErrorConnectionDial,
        );
        expect(accepted).toBe(0);
        expect(refused).toContainEqual(
          expect.objectContaining({
            kind: 'inbound-rejected',
            error: expect.objectContaining({ name: 'ErrorCertificateKeyMismatch' }),
          }),
        );
      } finally {
        await spoofer.stop();
        await server.stop();
      }
    }, 20_000);

    test(`is refused when we dial the NodeId it names (${as})`, async () => {
      const victim = identity.generateKeyPair();
      const mallory = identity.generateKeyPair();
      const spoofer = await startTransport({
        network: 'mainnet',
        keyPair: mallory,
        certificateChain: await spoofedChain(mallory, victim, network),
      });
      const client = await startTransport({ network: 'mainnet' });
      try {
        const p = client.dial(
          identity.nodeIdFromPublicKey(victim.publicKey),
          spoofer.localAddresses[0],
        );
        await expect(p).rejects.toBeInstanceOf(baseErrors.ErrorConnectionPeerRejected);
        await expect(p).rejects.toThrow(/holds the key of/);
      } finally {
        await client.stop();
        await spoofer.stop();
      }
    }, 20_000);
  }
});
