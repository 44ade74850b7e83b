import { describe, test, expect, afterEach } from '@jest/globals';
import Logger, { LogLevel } from '@matrixai/logger';
import { NodeNetwork, identity, errors } from '../src/index.js';

const logger = new Logger('test', LogLevel.ERROR);

describe('transportEngine', () => {
  const nodes: Array<NodeNetwork> = [];
  const create = async (transportEngine?: 'main' | 'worker', seedNodes = {}) => {
    const nn = await NodeNetwork.createNodeNetwork({
      keyPair: identity.generateKeyPair(),
      network: 'testnet',
      listen: [{ host: '127.0.0.1', port: 0 }],
      transportEngine,
      seedNodes,
      logger,
    });
    nodes.push(nn);
    return nn;
  };
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  // Never two worker engines in one process: @matrixai/quic's native module aborts it
  // (transport README, "Worker engine").
  test.each([
    ['worker', 'main'],
    ['main', 'worker'],
  ] as const)(
    'a %s-engine node and a %s-engine node connect and ping; a third joins the second',
    async (ea, eb) => {
      const b = await create(eb);
      const a = await create(ea, { [b.nodeIdEncoded]: b.addresses });
      const r = await a.connect(b.nodeIdEncoded);
      expect(r).toMatchObject({ nodeId: b.nodeIdEncoded, path: 'direct' });
      expect(await a.ping(b.nodeIdEncoded)).toBeGreaterThanOrEqual(0);
      // b's view: one inbound connection from a, audited like any other.
      expect(b.status().connections.map((c) => c.nodeId)).toEqual([a.nodeIdEncoded]);
      expect(a.status().audit.map((x) => x.kind)).toContain('dial-result');
      // A third node of the first kind connects to b too: b holds two connections.
      const c = await create(ea, { [b.nodeIdEncoded]: b.addresses });
      await c.connect(b.nodeIdEncoded);
      expect(await c.ping(b.nodeIdEncoded)).toBeGreaterThanOrEqual(0);
      expect(b.status().connections).toHaveLength(2);
    },
  );

  test('an unknown engine is a typed configuration error', async () => {
    await expect(create('threads' as any)).rejects.toBeInstanceOf(errors.ErrorNodeNetworkConfig);
  });
});
