import type { RelayedConnection } from '@node-network/relay';
import * as identity from '@node-network/network-identity';
import Logger, { LogLevel } from '@matrixai/logger';
import { QUICTransport, NodeConnectionManager, RealClock } from '@node-network/transport';
import { RelayService, tunnelIdentityOf } from '@node-network/relay';
import HttpRelayServer from '../src/HttpRelayServer.js';

const logger = new Logger('http-relay-test', LogLevel.ERROR);
const clock = new RealClock();

/** A node on loopback: QUIC, connection manager, relay service; with `ws`, a WebSocket endpoint too. */
async function startNode({
  ws = false,
  serverConfig,
}: {
  ws?: boolean;
  serverConfig?: ConstructorParameters<typeof HttpRelayServer>[0]['config'];
} = {}) {
  const keyPair = identity.generateKeyPair();
  const transport = new QUICTransport({ keyPair, network: 'testnet', logger });
  await transport.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
  const manager = new NodeConnectionManager({ transport, logger });
  const tunnelIdentity = tunnelIdentityOf({
    privateKey: keyPair.privateKey,
    certificateChain: transport.certificateChainDER,
    network: 'testnet',
  });
  const inbound: Array<RelayedConnection> = [];
  const relay = new RelayService({
    manager,
    clock,
    tunnelIdentity,
    onInbound: (c) => {
      inbound.push(c);
      manager.adoptDialled(c, 'relayed', 'inbound');
    },
    logger,
  });
  await manager.start({ handlers: relay.handlers() });
  let server: HttpRelayServer | undefined;
  if (ws) {
    server = new HttpRelayServer({
      localNodeId: transport.nodeId,
      tunnelIdentity,
      clock,
      onConnection: (c) => manager.adoptDialled(c, 'http-relay', 'inbound'),
      config: serverConfig,
      logger,
    });
    await server.start({ host: '127.0.0.1', port: 0 });
  }
  return {
    keyPair,
    transport,
    manager,
    relay,
    inbound,
    server,
    tunnelIdentity,
    stop: async () => {
      await server?.stop();
      await manager.stop();
      await transport.stop();
    },
  };
}

export { startNode, clock, logger };
