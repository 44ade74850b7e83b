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
import { agentControl } from './agentControl.js';
import { parseHostPort } from './http/localHttpServer.js';
import { serveDashboard } from './dashboard/serveDashboard.js';
import { fromControl, fromFile, fromUrl } from './dashboard/snapshotSources.js';
import { clockTime, describeAuditRecord, natKind } from './describe.js';
import * as errors from './errors.js';

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
                            table that survives restarts; the audit log persists
                            there too [none: seeds only, audit in memory]
      --audit-max-records N audit records kept in --db [10000]
      --audit-max-age-days D
                            audit records older than this are dropped [7]
      --metrics HOST:PORT   serve Prometheus metrics at http://HOST:PORT/metrics
                            (loopback only), e.g. 127.0.0.1:9464 [off]
      --mdns                find and be found by nodes on the local network (mDNS,
                            through avahi-daemon when it runs) [off]
      --port-mapping        ask the gateway to forward our port (PCP, NAT-PMP,
                            UPnP IGD); deleted at exit [off]
      --transport-engine E  main | worker: where the QUIC work runs [main]
      --control PATH        control socket [~/.node-network/agent.sock]
  ping NODEID ADDR...       connect from a fresh node and ping
      --network NET         [testnet]
  status [--json]           ask a running agent (via --control PATH) for its status:
                            NAT, addresses, connections and their paths, relays,
                            NodeGraph size, port mapping, mDNS, audit counts
  explain NODEID [--json]   ask a running agent (--control PATH) why it is or is not
                            connected to NODEID and how: every attempt, path, NAT
      --limit N             newest audit records to read [500]
  audit [--json]            a running agent's audit records (--control PATH), oldest first
      --node NODEID         about this node
      --kind KIND           of this kind (repeatable)
      --since T, --until T  time range (ISO 8601 or ms since the epoch)
      --limit N             the newest N [100]
  dashboard                 serve a live dashboard of the network (SVG, 1 s refresh)
      --control PATH        from a running agent [~/.node-network/agent.sock]
      --snapshot-url URL    or from another process's /snapshot.json
      --file SNAPSHOT.json  or from a file (re-read on every refresh)
      --host HOST           [127.0.0.1]  --port PORT [8123]
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
      'transport-engine': { type: 'string' },
      metrics: { type: 'string' },
      'audit-max-records': { type: 'string' },
      'audit-max-age-days': { type: 'string' },
    },
  });
  const metrics = values.metrics != null ? parseHostPort(values.metrics) : undefined;
  const maxRecords = positive(values['audit-max-records'], '--audit-max-records');
  const maxAgeDays = positive(values['audit-max-age-days'], '--audit-max-age-days');
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
      transportEngine: values['transport-engine'] as 'main' | 'worker' | undefined,
      ...(store != null
        ? {
            audit: {
              db: store.db,
              ...(maxRecords != null ? { maxRecords } : {}),
              ...(maxAgeDays != null ? { maxAgeMs: maxAgeDays * 24 * 3600_000 } : {}),
            },
          }
        : {}),
      metrics,
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
  const control = await serveControl(values.control!, agentControl(nn));
  process.stdout.write(
    JSON.stringify({
      nodeId: nn.nodeIdEncoded,
      network,
      addresses: nn.addresses,
      control: values.control,
      ...(nn.metricsUrl != null ? { metrics: nn.metricsUrl } : {}),
    }) + '\n',
  );
  await untilInterrupted();
  control.close();
  await nn.stop();
  await store?.graph.stop();
  await store?.db.stop();
  return 0;
}

function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

function positive(v: string | undefined, name: string): number | undefined {
  if (v == null) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new errors.ErrorNodeNetworkConfig(`${name} wants a positive number, not ${v}`);
  }
  return n;
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
    return 0;
  }
  const out: Array<string> = [`node ${s.nodeId} (${s.network}) at ${s.addresses.join(', ')}`];
  out.push(
    `  NAT: ipv4 ${natKind(s.nat.ipv4)}, ipv6 ${natKind(s.nat.ipv6)}` +
      (s.portMapping != null
        ? `; port mapping ${s.portMapping.addresses.join(', ') || 'none'}`
        : '') +
      (s.mdns != null ? `; mDNS ${s.mdns.running ? 'on' : 'off'}` : '') +
      (s.httpRelay?.active ? '; UDP blocked: over HTTP relays' : ''),
  );
  out.push(`  ${s.connections.length} connections:`);
  for (const c of s.connections) {
    out.push(
      `    ${c.initiator === 'local' ? '->' : '<-'} ${c.nodeId} ${c.path} ${c.remoteAddress}${c.relay != null ? ` via ${c.relay}` : ''}`,
    );
  }
  if (s.relays.length > 0) {
    out.push(
      `  relays we name: ${s.relays.map((r: any) => `${r.nodeId} (${r.rttMs != null ? r.rttMs.toFixed(1) : '?'} ms)`).join(', ')}`,
    );
  }
  if (s.relayService != null) {
    out.push(
      `  relaying for others: ${s.relayService.circuits} circuits now, ${s.relayService.relayed} served, ${s.relayService.refused} refused, ${s.relayService.bytes} bytes`,
    );
  }
  if (s.nodeGraph != null) out.push(`  NodeGraph: ${s.nodeGraph.size} contacts`);
  out.push(
    `  audit: ${s.auditCounts.stored ?? s.auditCounts.memory} records ${s.auditCounts.stored != null ? 'stored' : 'in memory'}` +
      (s.metricsUrl != null ? `; metrics at ${s.metricsUrl}` : ''),
  );
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

async function explain(args: Array<string>): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      control: { type: 'string', default: path.join(defaultDir(), 'agent.sock') },
    },
  });
  const nodeId = positionals[0];
  if (nodeId == null || positionals.length > 1) throw new Error('explain wants one NODEID');
  identity.decodeNodeId(nodeId); // a typed error before asking the agent
  const limit = positive(values.limit, '--limit');
  const e = (await requestControl(values.control!, 'explain', {
    nodeId,
    ...(limit != null ? { limit } : {}),
  })) as any;
  process.stdout.write(values.json ? JSON.stringify(e, null, 2) + '\n' : `${e.text}\n`);
  return 0;
}

function parseTime(v: string | undefined, name: string): number | undefined {
  if (v == null) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new errors.ErrorNodeNetworkConfig(`${name}: ${v} is not a time`);
  return t;
}

async function audit(args: Array<string>): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      node: { type: 'string' },
      kind: { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string', default: '100' },
      control: { type: 'string', default: path.join(defaultDir(), 'agent.sock') },
    },
  });
  const q = {
    ...(values.node != null ? { nodeId: values.node } : {}),
    ...(values.kind != null ? { kinds: values.kind } : {}),
    since: parseTime(values.since, '--since'),
    until: parseTime(values.until, '--until'),
    limit: positive(values.limit, '--limit'),
  };
  const records = (await requestControl(values.control!, 'audit', q)) as Array<any>;
  for (const r of records) {
    process.stdout.write(
      values.json ? JSON.stringify(r) + '\n' : `${clockTime(r.time)} ${describeAuditRecord(r)}\n`,
    );
  }
  return 0;
}

/**
 * Starts the dashboard server for `dashboard`'s arguments (one source: a
 * control socket, a snapshot URL, or a file, checked once before serving).
 */
async function startDashboard(args: Array<string>) {
  const { values } = parseArgs({
    args,
    options: {
      control: { type: 'string' },
      'snapshot-url': { type: 'string' },
      file: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8123' },
    },
  });
  const sources = [values.control, values['snapshot-url'], values.file].filter((x) => x != null);
  if (sources.length > 1) {
    throw new errors.ErrorNodeNetworkConfig(
      'dashboard takes one of --control, --snapshot-url, --file',
    );
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new errors.ErrorNodeNetworkConfig(`--port ${values.port} is not a port`);
  }
  const snapshot =
    values.file != null
      ? fromFile(values.file)
      : values['snapshot-url'] != null
        ? fromUrl(values['snapshot-url'])
        : fromControl(values.control ?? path.join(defaultDir(), 'agent.sock'));
  // A bad file or an unreachable source says so now, not in the page.
  await snapshot();
  return serveDashboard({
    host: values.host!,
    port,
    snapshot,
    logger: new Logger('dashboard', LogLevel.WARN, [new StreamHandler()]),
  });
}

async function dashboard(args: Array<string>): Promise<number> {
  const server = await startDashboard(args);
  process.stdout.write(JSON.stringify({ dashboard: `${server.url}/` }) + '\n');
  await untilInterrupted();
  await server.stop();
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
    case 'explain':
      return explain(rest);
    case 'audit':
      return audit(rest);
    case 'dashboard':
      return dashboard(rest);
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

export { main, usage, startDashboard };
