#!/usr/bin/env node
/**
 * A node-network agent driven over JSON lines (netlab's ControlledProcess
 * protocol): one request per stdin line `{"id","cmd","args"}`, one reply per
 * stdout line, events as `{"event",...}`; logs go to stderr. Started inside
 * a lab namespace by the netns matrix.
 *
 *   node agent.js '{"listen":[{"host":"0.0.0.0"}],"port":0,"seedNodes":{...}}'
 */
import type { NodeId } from '@node-network/network-interface';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { NodeGraph, DB } from '@node-network/nodegraph';
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
  /** The network to join (default mainnet). */
  network?: string;
  /** Local discovery by mDNS (through the host's avahi-daemon when it runs). */
  mdns?: boolean | { backend?: 'auto' | 'avahi' | 'responder' };
  /** Port mapping on the gateway (PCP, NAT-PMP, UPnP IGD). */
  portMapping?: boolean | { lifetimeSeconds?: number };
  /** Keep a NodeGraph (RocksDB in a temporary directory, removed at stop). */
  nodeGraph?: boolean;
};

const send = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as AgentConfig;
  const logger = new Logger('agent', LogLevel.WARN, [new StreamHandler()]);
  const keyPair = identity.generateKeyPair();
  let graph: NodeGraph | undefined;
  let db: DB | undefined;
  let dbPath: string | undefined;
  if (config.nodeGraph === true) {
    dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-agent-'));
    db = await DB.createDB({ dbPath, logger: logger.getChild('db') as any });
    graph = new NodeGraph({ db, nodeId: keyPair.publicKey as NodeId, logger });
    await graph.start();
  }
  const stopAll = async () => {
    await nn.stop();
    await graph?.stop();
    await db?.stop();
    if (dbPath != null) fs.rmSync(dbPath, { recursive: true, force: true });
  };
  const nn = await NodeNetwork.createNodeNetwork({
    keyPair,
    nodeGraph: graph,
    network: (config.network ?? 'mainnet') as 'mainnet' | 'testnet',
    listen: config.listen,
    mdns: config.mdns,
    portMapping: config.portMapping,
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
    connect: async ({
      nodeId,
      timeoutMs = 8_000,
      addresses,
    }: {
      nodeId: string;
      timeoutMs?: number;
      addresses?: Array<string>;
    }) => tryConnect(nn, nodeId, timeoutMs, addresses),
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
    /** What our NodeGraph holds about `nodeId`. */
    contact: async ({ nodeId }: { nodeId: string }) =>
      (await graph?.getContact(identity.decodeNodeId(nodeId))) ?? null,
    stop: async () => {
      await stopAll();
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
  const stop = () => void stopAll().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop);
  send({ event: 'ready', nodeId: nn.nodeIdEncoded, addresses: nn.addresses });
}

main().catch((e) => {
  process.stderr.write(`${errorText(e)}\n`);
  process.exit(1);
});
