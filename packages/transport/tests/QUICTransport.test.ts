import { describe, test, expect, afterEach } from '@jest/globals';
import { errors as baseErrors } from '@node-network/network-interface';
import { testConnectionCompliance } from '@node-network/network-interface/compliance';
import * as identity from '@node-network/network-identity';
import { toAddress } from '../src/addresses.js';
import { startTransport, engines, firstWorker } from './utils.js';
import type { TestTransport, TransportOptions } from './utils.js';
import type { Connection } from '@node-network/network-interface';

for (const host of ['127.0.0.1', '::1']) {
  testConnectionCompliance(`QUICTransport on ${host}`, {
    createPair: async () => {
      const dialer = await startTransport({ host });
      const listener = await startTransport({ host });
      return {
        dialer,
        listener,
        listenerAddress: listener.localAddresses[0],
        // Reserved port on loopback where nothing listens.
        deadAddress: toAddress(host, 9),
        otherNodeId: identity.nodeIdFromPublicKey(identity.generateKeyPair().publicKey),
        destroy: async () => {
          await dialer.stop();
          await listener.stop();
        },
      };
    },
  });
}

describe.each(engines)('QUICTransport identity and network checks (%s engine)', (engine) => {
  const started: Array<TestTransport> = [];
  const start = async (opts: TransportOptions = {}) => {
    const t = await startTransport({ ...opts, engine: firstWorker(engine) });
    started.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((t) => t.stop()));
  });

  test('a certificate that names another NodeId than its key is refused', async () => {
    // The listener presents a certificate made for another key pair (a
    // spoofed CN) while holding its own key: TLS itself would fail for the
    // key mismatch, so use a chain whose CN names a victim.
    const victim = identity.generateKeyPair();
    const listener = await start();
    const dialer = await start();
    const victimId = identity.nodeIdFromPublicKey(victim.publicKey);
    await expect(
      dialer.dial(victimId, listener.localAddresses[0], { timer: 5000 }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorConnectionNodeIdMismatch);
  });

  test('testnet and mainnet nodes refuse each other', async () => {
    const testnet = await start({ network: 'testnet' });
    const mainnet = await start({ network: 'mainnet' });
    const p = mainnet.dial(testnet.nodeId, testnet.localAddresses[0], { timer: 5000 });
    await expect(p).rejects.toBeInstanceOf(baseErrors.ErrorConnectionDial);
    const e = await p.catch((e) => e);
    expect(
      e instanceof baseErrors.ErrorConnectionPeerRejected ||
        e instanceof baseErrors.ErrorConnectionRejectedByPeer,
    ).toBe(true);
    const back = testnet.dial(mainnet.nodeId, mainnet.localAddresses[0], { timer: 5000 });
    await expect(back).rejects.toBeInstanceOf(baseErrors.ErrorConnectionDial);
  });

  test('a private network admits a node with a valid claim and refuses one without', async () => {
    const authority = identity.generateKeyPair();
    const network = identity.privateNetworkId(authority.publicKey);
    const now = new Date();
    const claimFor = (kp: identity.KeyPair, expiresAt = new Date(now.getTime() + 3600_000)) =>
      identity.createMembershipClaim({
        authorityPrivateKey: authority.privateKey,
        networkId: network,
        nodeId: identity.nodeIdFromPublicKey(kp.publicKey),
        issuedAt: new Date(now.getTime() - 1000),
        expiresAt,
      });
    const aKeys = identity.generateKeyPair();
    const bKeys = identity.generateKeyPair();
    const a = await start({ network, keyPair: aKeys, membershipClaim: claimFor(aKeys) });
    const b = await start({ network, keyPair: bKeys, membershipClaim: claimFor(bKeys) });
    const c = await a.dial(b.nodeId, b.localAddresses[0], { timer: 5000 });
    expect(c.closed).toBe(false);
    await c.close();

    // No claim at all: refused by the member.
    const outsider = await start({ network });
    await expect(
      outsider.dial(a.nodeId, a.localAddresses[0], { timer: 5000 }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorConnectionDial);
    await expect(
      a.dial(outsider.nodeId, outsider.localAddresses[0], { timer: 5000 }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorConnectionPeerRejected);

    // A claim signed by another authority: refused.
    const forger = identity.generateKeyPair();
    const fKeys = identity.generateKeyPair();
    const forged = identity.createMembershipClaim({
      authorityPrivateKey: forger.privateKey,
      networkId: network,
      nodeId: identity.nodeIdFromPublicKey(fKeys.publicKey),
      issuedAt: new Date(now.getTime() - 1000),
      expiresAt: new Date(now.getTime() + 3600_000),
    });
    const f = await start({ network, keyPair: fKeys, membershipClaim: forged });
    await expect(a.dial(f.nodeId, f.localAddresses[0], { timer: 5000 })).rejects.toBeInstanceOf(
      baseErrors.ErrorConnectionPeerRejected,
    );
  });

  test('dialling our own NodeId is refused', async () => {
    const a = await start();
    await expect(a.dial(a.nodeId, a.localAddresses[0])).rejects.toThrow(/own NodeId/);
  });

  test('dialling a family with no bound socket is a typed error', async () => {
    const a = await start({ host: '127.0.0.1' });
    const b = await start({ host: '::1' });
    await expect(a.dial(b.nodeId, b.localAddresses[0])).rejects.toBeInstanceOf(
      baseErrors.ErrorConnectionDial,
    );
  });

  test('one socket per family serves accepting and dialling', async () => {
    const a = await start({ hosts: ['127.0.0.1', '::1'] });
    const b = await start({ hosts: ['127.0.0.1', '::1'] });
    expect(a.localAddresses.map((x) => x.family).sort()).toEqual(['ipv4', 'ipv6']);
    const inbound = new Promise<Connection>((r) => b.onConnection(r));
    const c = await a.dial(b.nodeId, b.localAddresses[1], { timer: 5000 });
    const s = await inbound;
    // The peer sees our connection come from the port we accept on.
    expect(s.remoteAddress.port).toBe(a.localAddresses[1].port);
    expect(c.localAddress.port).toBe(a.localAddresses[1].port);
  });
});
