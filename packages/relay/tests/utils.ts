import type { NodeConnection } from '@node-network/transport';
import type { RelayConfig } from '../src/RelayService.js';
import type RelayedConnection from '../src/RelayedConnection.js';
import * as identity from '@node-network/network-identity';
import Logger, { LogLevel } from '@matrixai/logger';
import {
  QUICTransport,
  NodeConnectionManager,
  RealClock,
  RawHandler,
  UDPDatagramPort,
} from '@node-network/transport';
import RelayService from '../src/RelayService.js';
import { tunnelIdentityOf } from '../src/tunnel.js';

const logger = new Logger('relay-test', LogLevel.ERROR);

type RelayNode = {
  transport: QUICTransport;
  manager: NodeConnectionManager;
  relay: RelayService;
  inbound: Array<RelayedConnection>;
  stop(): Promise<void>;
};

/** A real QUIC node on loopback serving relay RPC, with `Service` (a subclass makes a hostile relay). */
async function startRelayNode({
  host = '127.0.0.1',
  network = 'testnet',
  config,
  Service = RelayService,
  adoptInbound = true,
  alterDatagram,
  portsUnreachable,
  quic = {},
}: {
  /** What the node's datagram circuits forward of each datagram (a hostile relay). */
  alterDatagram?: (data: Uint8Array, from: 'a' | 'b') => Uint8Array | undefined;
  /** Why the node's circuit ports are unreachable (as behind NAT). */
  portsUnreachable?: (family: 'ipv4' | 'ipv6') => string | undefined;
  quic?: { maxIdleTimeout?: number; keepAliveIntervalTime?: number };
  host?: string;
  network?: identity.NetworkId;
  config?: Partial<RelayConfig>;
  Service?: typeof RelayService;
  /** Hand inbound relayed connections to the manager (RPC on them); off: raw streams for the test. */
  adoptInbound?: boolean;
} = {}): Promise<RelayNode> {
  const keyPair = identity.generateKeyPair();
  const transport = new QUICTransport({
    keyPair,
    network,
    config: { maxIdleTimeout: 10_000, keepAliveIntervalTime: 2_000, ...quic },
    logger: logger.getChild('transport'),
  });
  await transport.start({ listen: [{ host, port: 0 }] });
  const manager = new NodeConnectionManager({ transport, logger: logger.getChild('manager') });
  const inbound: Array<RelayedConnection> = [];
  const relay = new Service({
    manager,
    clock: new RealClock(),
    tunnelIdentity: tunnelIdentityOf({
      privateKey: keyPair.privateKey,
      certificateChain: transport.certificateChainDER,
      network,
    }),
    config,
    onInbound: (c) => {
      inbound.push(c);
      if (adoptInbound) manager.adoptDialled(c, 'relayed', 'inbound');
    },
    bindPort: ({ host, port }) => UDPDatagramPort.bind({ host, port }),
    alterDatagram,
    portsUnreachable,
    logger: logger.getChild('relay'),
  });
  manager.inboundAdapter = (c) => relay.datagram.matchInbound(c);
  await manager.start({ handlers: { ...relay.handlers(), echoRaw: new EchoRaw({}) } });
  return {
    transport,
    manager,
    relay,
    inbound,
    stop: async () => {
      await relay.stop();
      await manager.stop();
      await transport.stop();
    },
  };
}

/** `echoRaw`: a raw RPC stream that sends back what it reads. */
class EchoRaw extends RawHandler {
  public handle = async (
    input: [unknown, ReadableStream<Uint8Array>],
  ): Promise<[{}, ReadableStream<Uint8Array>]> => [{}, input[1]];
}

/** Connects `from` to `to` directly (loopback). */
function link(from: RelayNode, to: RelayNode): Promise<NodeConnection> {
  return from.manager.connect(to.transport.nodeId, to.transport.localAddresses);
}

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function readAll(r: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Array<Uint8Array> = [];
  for await (const c of r as any) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Nodes for one describe block: `start` makes one (stopped after each test),
 * `triangle` makes R, A and B with A and B connected to R (B dialled R, as a
 * NATed node keeps its relays).
 */
function relayNodes(afterEach: (f: () => Promise<void>) => void) {
  const nodes: Array<RelayNode> = [];
  const start = async (...args: Parameters<typeof startRelayNode>) => {
    const n = await startRelayNode(...args);
    nodes.push(n);
    return n;
  };
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });
  const triangle = async (
    opts: {
      r?: Parameters<typeof startRelayNode>[0];
      b?: Parameters<typeof startRelayNode>[0];
    } = {},
  ) => {
    const r = await start(opts.r);
    const a = await start();
    const b = await start(opts.b);
    const ar = await link(a, r);
    await link(b, r);
    return { a, b, r, ar };
  };
  /** Forgets `n` (the test stopped it). */
  const forget = (n: RelayNode) => void nodes.splice(nodes.indexOf(n), 1);
  return { start, triangle, forget };
}

export { startRelayNode, relayNodes, link, pattern, readAll, sleep, logger };
export type { RelayNode };
