import type { NetworkId } from '@node-network/network-identity';
import type { TransportConfig, NodeConnectionManagerConfig } from '../src/index.js';
import type { WorkerQUICTransportOptions } from '../src/worker/WorkerQUICTransport.js';
import * as identity from '@node-network/network-identity';
import Logger, { LogLevel } from '@matrixai/logger';
import QUICTransport from '../src/QUICTransport.js';
import WorkerQUICTransport from '../src/worker/WorkerQUICTransport.js';
import NodeConnectionManager from '../src/NodeConnectionManager.js';
import * as events from '../src/events.js';

const logger = new Logger('test', LogLevel.ERROR);

/** Which QUIC engine a test runs on: the main thread's, or worker threads. */
type Engine = 'main' | 'worker';
const engines: Array<Engine> = ['main', 'worker'];

/** The worker engine from its TypeScript source (never a stale build). */
const engineUrl = new URL('./fixtures/engineFromSource.mjs', import.meta.url);

type TestTransport = QUICTransport | WorkerQUICTransport;

/**
 * Worker-engine transports running in this process. @matrixai/quic 2.0.9's
 * native module aborts the process when two worker threads use it at once
 * (see the transport README, "Worker engine"), so a test process runs at most
 * one: `startNode` gives a node the worker engine only while none runs.
 */
let liveWorkers = 0;

/** `engine`, except that only the first transport of a test gets the worker engine; its peers run on the main thread. */
function firstWorker(engine: Engine): Engine {
  return engine === 'worker' && liveWorkers > 0 ? 'main' : engine;
}

type TestNode = {
  transport: TestTransport;
  manager: NodeConnectionManager;
  keyPair: identity.KeyPair;
  stop(): Promise<void>;
};

function startTransport(
  opts?: Parameters<typeof startAnyTransport>[0] & { engine?: 'main' },
): Promise<QUICTransport>;
function startTransport(
  opts: Parameters<typeof startAnyTransport>[0] & { engine: 'worker' },
): Promise<WorkerQUICTransport>;
function startTransport(
  opts: Parameters<typeof startAnyTransport>[0] & { engine: Engine },
): Promise<TestTransport>;
function startTransport(
  opts: Parameters<typeof startAnyTransport>[0] = {},
): Promise<TestTransport> {
  return startAnyTransport(opts);
}

async function startAnyTransport({
  engine = 'main',
  host = '127.0.0.1',
  hosts,
  network = 'testnet',
  keyPair = identity.generateKeyPair(),
  membershipClaim,
  certificateChain,
  config,
  worker,
}: {
  engine?: Engine;
  host?: string;
  hosts?: Array<string>;
  network?: NetworkId;
  keyPair?: identity.KeyPair;
  membershipClaim?: identity.MembershipClaim;
  certificateChain?: Array<Uint8Array>;
  config?: Partial<TransportConfig>;
  /** Worker engine options. */
  worker?: Partial<WorkerQUICTransportOptions>;
} = {}): Promise<TestTransport> {
  const options = {
    keyPair,
    network,
    membershipClaim,
    certificateChain,
    config: { maxIdleTimeout: 10_000, keepAliveIntervalTime: 2_000, ...config },
    logger: logger.getChild('transport'),
  };
  const t =
    engine === 'worker'
      ? new WorkerQUICTransport({ ...options, ...worker, engineUrl })
      : new QUICTransport(options);
  await t.start({ listen: (hosts ?? [host]).map((h) => ({ host: h, port: 0 })) });
  if (t instanceof WorkerQUICTransport) {
    liveWorkers++;
    t.addEventListener(events.EventWorkerQUICTransportStopped.name, () => liveWorkers--, {
      once: true,
    });
  }
  return t;
}

async function startNode(
  opts: Parameters<typeof startAnyTransport>[0] & {
    managerConfig?: Partial<NodeConnectionManagerConfig>;
  } = {},
): Promise<TestNode> {
  const keyPair = opts.keyPair ?? identity.generateKeyPair();
  const transport = await startAnyTransport({
    ...opts,
    keyPair,
    engine: opts.engine == null ? undefined : firstWorker(opts.engine),
  });
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

type TransportOptions = NonNullable<Parameters<typeof startAnyTransport>[0]>;

export { logger, startTransport, startNode, sleep, engines, engineUrl, firstWorker };
export type { TestNode, TestTransport, Engine, TransportOptions };
