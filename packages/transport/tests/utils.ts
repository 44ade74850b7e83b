import type { NetworkId } from '@node-network/network-identity';
import type { TransportConfig, NodeConnectionManagerConfig } from '../src/index.js';
import * as identity from '@node-network/network-identity';
import Logger, { LogLevel } from '@matrixai/logger';
import QUICTransport from '../src/QUICTransport.js';
import NodeConnectionManager from '../src/NodeConnectionManager.js';

const logger = new Logger('test', LogLevel.ERROR);

type TestNode = {
  transport: QUICTransport;
  manager: NodeConnectionManager;
  keyPair: identity.KeyPair;
  stop(): Promise<void>;
};

async function startTransport({
  host = '127.0.0.1',
  hosts,
  network = 'testnet',
  keyPair = identity.generateKeyPair(),
  membershipClaim,
  certificateChain,
  config,
}: {
  host?: string;
  hosts?: Array<string>;
  network?: NetworkId;
  keyPair?: identity.KeyPair;
  membershipClaim?: identity.MembershipClaim;
  certificateChain?: Array<Uint8Array>;
  config?: Partial<TransportConfig>;
} = {}): Promise<QUICTransport> {
  const t = new QUICTransport({
    keyPair,
    network,
    membershipClaim,
    certificateChain,
    config: { maxIdleTimeout: 10_000, keepAliveIntervalTime: 2_000, ...config },
    logger: logger.getChild('transport'),
  });
  await t.start({ listen: (hosts ?? [host]).map((h) => ({ host: h, port: 0 })) });
  return t;
}

async function startNode(
  opts: Parameters<typeof startTransport>[0] & {
    managerConfig?: Partial<NodeConnectionManagerConfig>;
  } = {},
): Promise<TestNode> {
  const keyPair = opts.keyPair ?? identity.generateKeyPair();
  const transport = await startTransport({ ...opts, keyPair });
  const manager = new NodeConnectionManager({
    transport,
    config: opts.managerConfig,
    logger: logger.getChild('manager'),
  });
  await manager.start();
  return {
    transport,
    manager,
    keyPair,
    stop: async () => {
      await manager.stop();
      await transport.stop();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { logger, startTransport, startNode, sleep };
export type { TestNode };
