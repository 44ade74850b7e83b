#!/usr/bin/env node
/**
 * A node-network agent driven over JSON lines (netlab's ControlledProcess
 * protocol): one request per stdin line `{"id","cmd","args"}`, one reply per
 * stdout line, events as `{"event",...}`; logs go to stderr. Started inside
 * a lab namespace by the netns matrix.
 *
 *   node agent.js '{"listen":[{"host":"0.0.0.0"}],"port":0,"seedNodes":{...}}'
 */
import readline from 'node:readline';
import Logger, { LogLevel, StreamHandler } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { NodeNetwork } from 'node-network';
import { errorText, tryConnect } from '../utils.js';
import { SinkHandler, transfer } from '../transfer.js';

type AgentConfig = {
  listen: Array<{ host: string; port?: number }>;
  seedNodes?: Record<string, Array<string>>;
  natProbeServers?: Array<{ host: string; port: number; otherPort?: number; otherHost?: string }>;
  /** HTTP relaying: a WebSocket endpoint to serve, and relays (with a proxy) to use when UDP is blocked. */
  httpRelay?: {
    listen?: { host: string; port: number };
    relays?: Array<string>;
    proxy?: string | null;
  };
};

const send = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as AgentConfig;
  const logger = new Logger('agent', LogLevel.WARN, [new StreamHandler()]);
  const nn = await NodeNetwork.createNodeNetwork({
    keyPair: identity.generateKeyPair(),
    network: 'mainnet',
    listen: config.listen,
    seedNodes: config.seedNodes,
    natProbeServers: config.natProbeServers,
    httpRelay: config.httpRelay,
    handlers: { sink: new SinkHandler({}) },
    logger,
  });
  const commands: Record<string, (args: any) => Promise<unknown>> = {
    status: async () => nn.status(),
    /** Connects to every seed and learns our reflexive address from each, twice. */
    bootstrap: async ({ timeoutMs = 3_000 }: { timeoutMs?: number }) =>
      nn.observeNat(Object.keys(config.seedNodes ?? {}), { timeoutMs }),
    connect: async ({ nodeId, timeoutMs = 8_000 }: { nodeId: string; timeoutMs?: number }) =>
      tryConnect(nn, nodeId, timeoutMs),
    /** Sends `bytes` to the node's `sink` over the live connection; says whether they arrived intact. */
    transfer: async ({ nodeId, bytes }: { nodeId: string; bytes: number }) =>
      transfer(nn, identity.decodeNodeId(nodeId), bytes),
    /** Measures the idle lifetime of our NAT's UDP mappings with a seed's probe server. */
    lifetime: async ({
      nodeId,
      family,
      intervals,
    }: {
      nodeId: string;
      family?: 'ipv4' | 'ipv6';
      intervals?: Array<number>;
    }) => nn.measureMappingLifetime(nodeId, { family, intervals }),
    stop: async () => {
      await nn.stop();
      setImmediate(() => process.exit(0));
      return true;
    },
  };
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    let req: { id: number; cmd: string; args?: unknown };
    try {
      req = JSON.parse(line);
    } catch {
      return;
    }
    const handler = commands[req.cmd];
    if (handler == null) return send({ id: req.id, error: `unknown command ${req.cmd}` });
    handler(req.args ?? {}).then(
      (result) => send({ id: req.id, result }),
      (e) => send({ id: req.id, error: errorText(e) }),
    );
  });
  const stop = () => void nn.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop);
  send({ event: 'ready', nodeId: nn.nodeIdEncoded, addresses: nn.addresses });
}

main().catch((e) => {
  process.stderr.write(`${errorText(e)}\n`);
  process.exit(1);
});
