import { describe, test, expect, afterEach } from '@jest/globals';
import Logger, { LogLevel } from '@matrixai/logger';
import { NodeNetwork, identity, errors } from '../src/index.js';
import { errors as baseErrors } from '@node-network/network-interface';

const logger = new Logger('test', LogLevel.ERROR);

describe('NodeNetwork', () => {
  const nodes: Array<NodeNetwork> = [];
  const create = async (
    opts: Partial<Parameters<typeof NodeNetwork.createNodeNetwork>[0]> = {},
  ) => {
    const nn = await NodeNetwork.createNodeNetwork({
      keyPair: identity.generateKeyPair(),
      network: 'testnet',
      listen: [
        { host: '127.0.0.1', port: 0 },
        { host: '::1', port: 0 },
      ],
      logger,
      ...opts,
    });
    nodes.push(nn);
    return nn;
  };
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  test('connects by NodeId text over IPv4 and IPv6 and reports it', async () => {
    const a = await create();
    const b = await create();
    const [v4, v6] = b.addresses;
    const r4 = await a.connect(b.nodeIdEncoded, [v4]);
    expect(r4).toMatchObject({
      nodeId: b.nodeIdEncoded,
      path: 'direct',
      address: v4,
      reused: false,
    });
    expect(await a.ping(b.nodeIdEncoded)).toBeGreaterThanOrEqual(0);
    await a.connectionManager.getConnection(b.nodeId)!.connection.close();
    const r6 = await a.connect(b.nodeId, [v6]);
    expect(r6.address).toBe(v6);
    const again = await a.connect(b.nodeId);
    expect(again.reused).toBe(true);
    const s = a.status();
    expect(s.connections).toHaveLength(1);
    expect(s.connections[0].nodeId).toBe(b.nodeIdEncoded);
    const kinds = s.audit.map((r) => r.kind);
    expect(kinds).toContain('dial-attempt');
    expect(kinds).toContain('dial-result');
    expect(kinds).toContain('connection-close');
  });

  test('seed nodes are known addresses', async () => {
    const b = await create();
    const a = await create({ seedNodes: { [b.nodeIdEncoded]: b.addresses } });
    const r = await a.connect(b.nodeIdEncoded);
    expect(r.reused).toBe(false);
    expect(await a.observedAddress(b.nodeIdEncoded)).toMatch(/^\[::1\]:\d+$|^127\.0\.0\.1:\d+$/);
  });

  test('an unknown node without addresses is a typed error; a bad NodeId too', async () => {
    const a = await create();
    const ghost = identity.encodeNodeId(
      identity.nodeIdFromPublicKey(identity.generateKeyPair().publicKey),
    );
    await expect(a.connect(ghost)).rejects.toBeInstanceOf(errors.ErrorNodeNetworkNodeUnknown);
    await expect(a.connect('vnot-a-node-id')).rejects.toBeInstanceOf(baseErrors.ErrorCodec);
  });

  test('invalid seed config is refused at creation', async () => {
    await expect(create({ seedNodes: { garbage: ['127.0.0.1:1'] } })).rejects.toBeInstanceOf(
      errors.ErrorNodeNetworkConfig,
    );
  });

  test('a mainnet node cannot reach a testnet node; both record why', async () => {
    const t = await create({ network: 'testnet' });
    const m = await create({ network: 'mainnet' });
    await expect(
      m.connect(t.nodeIdEncoded, [t.addresses[0]], { timer: 5000 }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorConnectionDial);
    const failed = m.status().audit.find((r) => r.kind === 'dial-result');
    expect(failed?.outcome).toBe('failed');
    expect(failed?.error?.message).toMatch(/testnet/);
  });

  test('learns from peers that it sits behind no NAT, and says so in status and the audit trail', async () => {
    const a = await create({ listen: [{ host: '127.0.0.1', port: 0 }] });
    for (const ip of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      const peer = await create({ listen: [{ host: ip, port: 0 }] });
      await a.connect(peer.nodeIdEncoded, peer.addresses);
      await a.learnReflexiveAddress(peer.nodeId);
    }
    const s = a.status();
    expect(s.nat.ipv4.mapping).toBe('none');
    expect(s.nat.ipv4.publicAddresses).toEqual([a.addresses[0]]);
    expect(s.nat.ipv6.mapping).toBe('unknown');
    expect(s.audit.some((r) => r.kind === 'nat-classification')).toBe(true);
  });

  test('calls after stop are refused with a typed error', async () => {
    const a = await create();
    const b = await create();
    await a.stop();
    nodes.splice(nodes.indexOf(a), 1);
    await expect(a.connect(b.nodeIdEncoded, b.addresses)).rejects.toBeInstanceOf(
      errors.ErrorNodeNetworkNotRunning,
    );
  });
});
