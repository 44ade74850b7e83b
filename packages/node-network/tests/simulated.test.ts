import { describe, test, expect } from '@jest/globals';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { Network, VirtualConnectionTransport, addSite } from '@node-network/netsim';
import { errors as transportErrors } from '@node-network/transport';
import NodeNetwork from '../src/NodeNetwork.js';
import * as errors from '../src/errors.js';

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

describe('lookupNode on netsim', () => {
  test('a node found by NodeId only through a peer; hostile lookups get typed errors', async () => {
    const network = new Network({ seed: 9, latency: 10 });
    const stop = network.clock.autoRun();
    const nodes: Array<{ t: VirtualConnectionTransport; nn: NodeNetwork }> = [];
    const make = async (ip: string, seedNodes?: Record<string, Array<string>>) => {
      const host = network.addHost({ name: ip, ipv4: ip });
      const t = new VirtualConnectionTransport({
        network,
        host,
        nodeId: identity.generateKeyPair().publicKey as any,
      });
      await t.start({ port: 1314 });
      const nn = await NodeNetwork.createNodeNetwork({
        network: 'mainnet',
        transport: t,
        clock: network.clock,
        seedNodes,
        logger,
      });
      nodes.push({ t, nn });
      return nn;
    };
    const seed = await make('198.51.100.1');
    const seeds = { [seed.nodeIdEncoded]: ['198.51.100.1:1314'] };
    const a = await make('198.51.100.2', seeds);
    const b = await make('198.51.100.3', seeds);
    await b.connect(seed.nodeId);
    await a.connect(seed.nodeId);
    // a knows only the seed; the seed sees b's connection and tells a where b is.
    const r = await a.connect(b.nodeIdEncoded);
    expect(r.address).toBe('198.51.100.3:1314');
    expect(a.status().audit.some((x) => x.kind === 'lookup' && x.outcome === 'ok')).toBe(true);
    // Unknown everywhere: a typed error that says what was tried.
    const stranger = identity.encodeNodeId(identity.generateKeyPair().publicKey as any);
    await expect(a.connect(stranger)).rejects.toBeInstanceOf(errors.ErrorNodeNetworkNodeUnknown);
    // Hostile requests are refused with a typed remote error, and the server keeps serving.
    const rpc = a.connectionManager.getConnection(seed.nodeId)!.rpc;
    for (const bad of [
      {},
      { nodeId: 5 },
      { nodeId: 'v' + 'x'.repeat(52) },
      { nodeId: 'v'.repeat(5000) },
    ]) {
      await expect(rpc.unary('lookupNode', bad as any)).rejects.toBeInstanceOf(
        transportErrors.ErrorRPCRemote,
      );
    }
    expect(await rpc.unary('lookupNode', { nodeId: b.nodeIdEncoded })).toEqual({
      addresses: ['198.51.100.3:1314'],
    });
    for (const n of nodes.reverse()) {
      await n.nn.stop();
      await n.t.stop();
    }
    stop();
  });
});
