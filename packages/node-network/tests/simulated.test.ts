import { describe, test, expect } from '@jest/globals';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { Network, VirtualConnectionTransport, addSite } from '@node-network/netsim';
import NodeNetwork from '../src/NodeNetwork.js';

const logger = new Logger('sim', LogLevel.WARN);

describe('NodeNetwork on netsim', () => {
  test('two simulated nodes connect, ping and learn their reflexive address', async () => {
    const network = new Network({ seed: 5, latency: 20 });
    const stop = network.clock.autoRun();
    const pub = network.addHost({ name: 'pub', ipv4: '198.51.100.1' });
    const { host } = addSite(network, 'port-restricted', { index: 1 });
    const make = async (h: typeof pub) => {
      const t = new VirtualConnectionTransport({
        network,
        host: h,
        nodeId: identity.generateKeyPair().publicKey as any,
      });
      await t.start({ port: h === pub ? 1314 : 0 });
      const nn = await NodeNetwork.createNodeNetwork({
        network: 'mainnet',
        transport: t,
        clock: network.clock,
        logger,
      });
      return { t, nn };
    };
    const a = await make(host);
    const b = await make(pub);
    const r = await a.nn.connect(b.nn.nodeId, ['198.51.100.1:1314']);
    expect(r.path).toBe('direct');
    expect(r.durationMs).toBeGreaterThanOrEqual(40);
    const rtt = await a.nn.ping(b.nn.nodeId);
    expect(rtt).toBeGreaterThanOrEqual(40);
    expect(await a.nn.observedAddress(b.nn.nodeId)).toBe('203.0.113.2:40000');
    await a.nn.stop();
    await b.nn.stop();
    await a.t.stop();
    await b.t.stop();
    stop();
  });
});
