#!/usr/bin/env node
/**
 * A chaos node in a network namespace: the NodeNetwork facade over real
 * QUIC, driven over JSON lines (netlab's ControlledProcess protocol) by
 * chaosnet's `NetnsLab`. One request per stdin line `{"id","cmd","args"}`,
 * one reply per stdout line; an operation's failure is a result
 * `{ "error": { name, message } }` (its class name kept for the typed-error
 * invariant); logs go to stderr.
 *
 *   node agent.js '{"name":"n3","keySeed":"1/chaos-n3","listen":[{"host":"0.0.0.0"}],"seedNodes":{...}}'
 */
import readline from 'node:readline';
import fs from 'node:fs';
import Logger, { LogLevel, StreamHandler } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { RealClock } from '@node-network/transport';
import { seedBytes } from '@node-network/matrix';
import { NodeNetwork } from 'node-network';
import * as ops from '../ops.js';
import { ChecksumSinkHandler, EchoHandler } from '../handlers.js';
import { errorParts } from '../utils.js';

type AgentConfig = {
  name: string;
  /** The key is derived from it: a restarted node keeps its NodeId. */
  keySeed: string;
  listen: Array<{ host: string; port?: number }>;
  seedNodes?: Record<string, Array<string>>;
  natProbeServers?: Array<{ host: string; port: number; otherPort?: number; otherHost?: string }>;
  httpRelay?: { listen?: { host: string; port: number }; relays?: Array<string>; proxy?: string };
  portMapping?: boolean;
  tamper?: boolean;
};

const send = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as AgentConfig;
  const logger = new Logger(`chaos-${config.name}`, LogLevel.WARN, [new StreamHandler()]);
  const clock = new RealClock();
  const nn = await NodeNetwork.createNodeNetwork({
    keyPair: identity.keyPairFromSeed(seedBytes(config.keySeed)),
    network: 'mainnet',
    listen: config.listen,
    seedNodes: config.seedNodes,
    natProbeServers: config.natProbeServers,
    httpRelay: config.httpRelay,
    portMapping: config.portMapping,
    handlers: {
      chaosSink: new ChecksumSinkHandler({ tamper: config.tamper === true }),
      chaosEcho: new EchoHandler({ name: config.name }),
    },
    logger,
  });
  const d = (timeoutMs: number): ops.OpDeadline => ({ clock, timeoutMs });
  const op =
    <A>(f: (a: A) => Promise<unknown>) =>
    async (a: A) => {
      try {
        return { ok: true, result: await f(a) };
      } catch (e) {
        return { ok: false, error: errorParts(e) };
      }
    };
  const commands: Record<string, (args: any) => Promise<unknown>> = {
    bootstrap: async ({ timeoutMs = 3_000 }: { timeoutMs?: number }) =>
      nn.observeNat(Object.keys(config.seedNodes ?? {}), { timeoutMs }).then(
        () => true,
        () => false,
      ),
    connect: op(({ target, timeoutMs }: { target: string; timeoutMs: number }) =>
      ops.connect(nn, target, d(timeoutMs)),
    ),
    echo: op(({ target, data, timeoutMs }: { target: string; data: string; timeoutMs: number }) =>
      ops.echo(nn, target, data, d(timeoutMs)),
    ),
    transfer: op(
      ({
        target,
        bytes,
        seed,
        timeoutMs,
      }: {
        target: string;
        bytes: number;
        seed: number;
        timeoutMs: number;
      }) => ops.transfer(nn, target, bytes, seed, d(timeoutMs)),
    ),
    lookup: op(({ via, target, timeoutMs }: { via: string; target: string; timeoutMs: number }) =>
      ops.lookup(nn, via, target, d(timeoutMs)),
    ),
    disconnect: op(({ target }: { target: string }) => ops.disconnect(nn, target)),
    view: async () => {
      const s = nn.status();
      return {
        up: true,
        connections: s.connections.map((c) => ({
          nodeId: c.nodeId,
          path: c.path,
          ...(c.relay != null ? { relay: c.relay } : {}),
        })),
        knownNodes: Object.keys(s.knownNodes).length,
        addresses: s.addresses,
        memoryMiB: process.memoryUsage().rss / 2 ** 20,
      };
    },
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
      (e) => send({ id: req.id, error: `${errorParts(e).name}: ${errorParts(e).message}` }),
    );
  });
  const stop = () => void nn.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop);
  send({ event: 'ready', nodeId: nn.nodeIdEncoded, addresses: nn.addresses, pid: process.pid });
}

main().catch((e) => {
  const { name, message } = errorParts(e);
  fs.writeSync(2, `${name}: ${message}\n`);
  process.exit(1);
});
