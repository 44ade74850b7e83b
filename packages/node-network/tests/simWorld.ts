import type { NodeId } from '@node-network/network-interface';
import type { NATKind, SimHost } from '@node-network/netsim';
import { afterEach } from '@jest/globals';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { Network, VirtualConnectionTransport, addSite } from '@node-network/netsim';
import NodeNetwork from '../src/NodeNetwork.js';

const logger = new Logger('sim-world', LogLevel.WARN);

type SimNode = {
  nn: NodeNetwork;
  t: VirtualConnectionTransport;
  keyPair: identity.KeyPair;
  host: SimHost;
};

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** A simulated internet with public helpers and nodes behind NATs, all on the real facade. */
function world(seed: number) {
  const network = new Network({ seed, latency: 20, jitter: 2 });
  cleanup.push(network.clock.autoRun());
  let sites = 0;
  const add = async (
    where: { kind: NATKind } | { ip: string } | { host: SimHost },
    keyPair = identity.generateKeyPair(),
    options: Partial<Parameters<typeof NodeNetwork.createNodeNetwork>[0]> = {},
  ): Promise<SimNode> => {
    const host =
      'host' in where
        ? where.host
        : 'ip' in where
          ? network.addHost({ name: where.ip, ipv4: where.ip })
          : addSite(network, where.kind, { index: ++sites + 10 }).host;
    const t = new VirtualConnectionTransport({
      network,
      host,
      nodeId: keyPair.publicKey as NodeId,
    });
    await t.start({ port: 'ip' in where ? 1314 : 0 });
    const nn = await NodeNetwork.createNodeNetwork({
      keyPair,
      network: 'mainnet',
      transport: t,
      clock: network.clock,
      logger,
      bindDatagramPort: async ({ host: ip, port: p, family }) =>
        network.bind(ip === '0.0.0.0' ? host : network.hostByAddress(ip), family, p),
      ...options,
    });
    cleanup.push(async () => {
      await nn.stop();
      await t.stop();
    });
    return { nn, t, keyPair, host };
  };
  return { network, add };
}

export { world, cleanup };
export type { SimNode };
