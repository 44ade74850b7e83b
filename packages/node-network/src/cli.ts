import type { NetworkId } from '@node-network/network-identity';
import type { NodeId } from '@node-network/network-interface';
import { NodeGraph, DB } from '@node-network/nodegraph';
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as identity from '@node-network/network-identity';
import Logger, { LogLevel, StreamHandler } from '@matrixai/logger';
import NodeNetwork from './NodeNetwork.js';
import { runDemo } from './demo.js';
import { serveControl, requestControl } from './control.js';

const usage = `node-network <command> [options]

Commands:
  demo                      three nodes on loopback connect by NodeId over IPv4 and IPv6
  agent                     run a node until interrupted
      --host HOST           address to bind (repeatable, one per family) [0.0.0.0 and ::]
      --port PORT           port for every bound address [0: any]
      --network NET         mainnet | testnet | private:<authority NodeId> [testnet]
      --claim FILE          membership claim for a private network
      --key-file FILE       Ed25519 seed (hex); created when missing [~/.node-network/key]
      --seed ID@ADDR        a known node, e.g. v0abc…@127.0.0.1:1314 (repeatable)
      --db DIR              keep a NodeGraph (RocksDB) here: Kademlia lookups, a
                            table that survives restarts [none: seeds only]
      --mdns                find and be found by nodes on the local network (mDNS,
                            through avahi-daemon when it runs) [off]
      --port-mapping        ask the gateway to forward our port (PCP, NAT-PMP,
                            UPnP IGD); deleted at exit [off]
      --control PATH        control socket [~/.node-network/agent.sock]
  ping NODEID ADDR...       connect from a fresh node and ping
      --network NET         [testnet]
  status [--json]           ask a running agent (via --control PATH) for its status
  keygen                    print a new NodeId and seed
`;

function defaultDir(): string {
  return path.join(os.homedir(), '.node-network');
}

function loadKeyPair(file: string): identity.KeyPair {
  if (fs.existsSync(file)) {
    const hex = fs.readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`${file} does not hold a 32-byte hex seed`);
    return identity.keyPairFromSeed(Buffer.from(hex, 'hex'));
  }
  const kp = identity.generateKeyPair();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.from(kp.privateKey).toString('hex') + '\n', { mode: 0o600 });
  return kp;
}

async function agent(args: Array<string>): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', multiple: true },
      port: { type: 'string', default: '0' },
      network: { type: 'string', default: 'testnet' },
      claim: { type: 'string' },
      'key-file': { type: 'string', default: path.join(defaultDir(), 'key') },
      seed: { type: 'string', multiple: true, default: [] },
      db: { type: 'string' },
      control: { type: 'string', default: path.join(defaultDir(), 'agent.sock') },
      verbose: { type: 'boolean', default: false },
      mdns: { type: 'boolean', default: false },
      'port-mapping': { type: 'boolean', default: false },
    },
  });
  const logger = new Logger('agent', values.verbose ? LogLevel.DEBUG : LogLevel.INFO, [
    new StreamHandler(),
  ]);
  const network = identity.parseNetworkId(values.network) as NetworkId;
  const claim =
    values.claim != null
      ? identity.decodeMembershipClaim(fs.readFileSync(values.claim))
      : undefined;
  const port = Number(values.port);
  const hosts = values.host ?? ['0.0.0.0', '::'];
  const keyPair = loadKeyPair(values['key-file']!);
  let store: { db: DB; graph: NodeGraph } | undefined;
  if (values.db != null) {
    const db = await DB.createDB({ dbPath: values.db, logger: logger.getChild('DB') as any });
    const graph = new NodeGraph({ db, nodeId: keyPair.publicKey as NodeId, logger });
    await graph.start();
    store = { db, graph };
  }
  let nn: NodeNetwork;
  try {
    nn = await NodeNetwork.createNodeNetwork({
      keyPair,
      network,
      membershipClaim: claim,
      listen: hosts.map((host) => ({ host, port })),
      seedNodes: values.seed!,
      nodeGraph: store?.graph,
      mdns: values.mdns,
      portMapping: values['port-mapping'],
      logger,
    });
  } catch (e) {
    await store?.graph.stop();
    await store?.db.stop();
    throw e;
  }
  if (store != null) {
    void nn
      .bootstrap({ timer: 15_000 })
      .catch((e) => logger.warn(`Bootstrap failed: ${(e as Error).message}`));
  }
  nn.addEventListener('EventNodeNetworkAudit', (evt: Event) => {
    process.stdout.write(JSON.stringify((evt as any).detail) + '\n');
  });
  fs.mkdirSync(path.dirname(values.control!), { recursive: true });
  const control = await serveControl(values.control!, async (req) => {
    if (req.command === 'status') return nn.status();
    throw new Error(`Unknown command ${req.command}`);
  });
  process.stdout.write(
    JSON.stringify({
      nodeId: nn.nodeIdEncoded,
      network,
      addresses: nn.addresses,
      control: values.control,
    }) + '\n',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  control.close();
  await nn.stop();
  await store?.graph.stop();
  await store?.db.stop();
  return 0;
}

async function ping(args: Array<string>): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      network: { type: 'string', default: 'testnet' },
      json: { type: 'boolean', default: false },
    },
  });
  const [target, ...addrs] = positionals;
  if (target == null || addrs.length === 0) throw new Error('ping wants NODEID ADDRESS...');
  const nn = await NodeNetwork.createNodeNetwork({
    keyPair: identity.generateKeyPair(),
    network: identity.parseNetworkId(values.network) as NetworkId,
    listen: [{ host: '0.0.0.0' }, { host: '::' }],
    logger: new Logger('ping', LogLevel.WARN, [new StreamHandler()]),
  });
  try {
    const r = await nn.connect(target, addrs);
    const rtt = await nn.ping(target);
    const out = { ...r, pingMs: rtt };
    process.stdout.write(
      values.json
        ? JSON.stringify(out) + '\n'
        : `connected to ${r.nodeId} at ${r.address} (${r.path}) in ${r.durationMs.toFixed(1)} ms; ping ${rtt.toFixed(2)} ms\n`,
    );
    return 0;
  } finally {
    await nn.stop();
  }
}

async function status(args: Array<string>): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      control: { type: 'string', default: path.join(defaultDir(), 'agent.sock') },
    },
  });
  const s = (await requestControl(values.control!, 'status')) as any;
  if (values.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
  } else {
    process.stdout.write(`node ${s.nodeId} (${s.network}) at ${s.addresses.join(', ')}\n`);
    for (const c of s.connections) {
      process.stdout.write(
        `  ${c.initiator === 'local' ? '->' : '<-'} ${c.nodeId} ${c.remoteAddress}\n`,
      );
    }
  }
  return 0;
}

async function main(argv: Array<string>): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      await runDemo();
      return 0;
    case 'agent':
      return agent(rest);
    case 'ping':
      return ping(rest);
    case 'status':
      return status(rest);
    case 'keygen': {
      const kp = identity.generateKeyPair();
      process.stdout.write(
        JSON.stringify({
          nodeId: identity.encodeNodeId(identity.nodeIdFromPublicKey(kp.publicKey)),
          seed: Buffer.from(kp.privateKey).toString('hex'),
        }) + '\n',
      );
      return 0;
    }
    default:
      process.stdout.write(usage);
      return command == null || command === 'help' || command === '--help' ? 0 : 2;
  }
}

export { main, usage };
