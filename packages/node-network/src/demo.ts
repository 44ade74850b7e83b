import type { AuditRecord } from '@node-network/transport';
import * as identity from '@node-network/network-identity';
import Logger, { LogLevel } from '@matrixai/logger';
import NodeNetwork from './NodeNetwork.js';

type DemoRow = {
  from: string;
  to: string;
  via: string;
  result: 'connected' | 'rejected' | 'failed';
  path: string;
  connectMs: number | null;
  pingMs: number | null;
  error: string | null;
};

function short(nodeIdText: string): string {
  return `${nodeIdText.slice(0, 8)}…`;
}

function formatTable(rows: Array<DemoRow>, names: Map<string, string>): string {
  const header = ['from', 'to', 'via', 'result', 'path', 'connect ms', 'ping ms', 'why'];
  const body = rows.map((r) => [
    names.get(r.from) ?? short(r.from),
    names.get(r.to) ?? short(r.to),
    r.via,
    r.result,
    r.path,
    r.connectMs == null ? '-' : r.connectMs.toFixed(1),
    r.pingMs == null ? '-' : r.pingMs.toFixed(2),
    r.error ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: Array<string>) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * The main job: three nodes on loopback (each on 127.0.0.1 and ::1) connect
 * to each other by NodeId over IPv4, over IPv6, and with both (happy
 * eyeballs); a node of another network is refused. Prints who reached whom,
 * how, and how fast; returns the rows.
 */
async function runDemo({
  print = (s: string) => process.stdout.write(s + '\n'),
  logLevel = LogLevel.ERROR,
}: { print?: (s: string) => void; logLevel?: LogLevel } = {}): Promise<Array<DemoRow>> {
  const logger = new Logger('demo', logLevel);
  const listen = [
    { host: '127.0.0.1', port: 0 },
    { host: '::1', port: 0 },
  ];
  const names = new Map<string, string>();
  const nodes: Array<NodeNetwork> = [];
  const rows: Array<DemoRow> = [];
  try {
    for (const name of ['alice', 'bob', 'carol']) {
      const nn = await NodeNetwork.createNodeNetwork({
        keyPair: identity.generateKeyPair(),
        network: 'testnet',
        listen,
        logger: logger.getChild(name),
      });
      nodes.push(nn);
      names.set(nn.nodeIdEncoded, name);
      print(`${name.padEnd(6)} ${nn.nodeIdEncoded}  ${nn.addresses.join('  ')}`);
    }
    const stranger = await NodeNetwork.createNodeNetwork({
      keyPair: identity.generateKeyPair(),
      network: 'mainnet',
      listen,
      logger: logger.getChild('mallory'),
    });
    nodes.push(stranger);
    names.set(stranger.nodeIdEncoded, 'mallory');
    print(`${'mallory'.padEnd(6)} ${stranger.nodeIdEncoded}  (mainnet)\n`);

    const attempt = async (
      from: NodeNetwork,
      to: NodeNetwork,
      via: string,
      addrs: Array<string>,
    ) => {
      const row: DemoRow = {
        from: from.nodeIdEncoded,
        to: to.nodeIdEncoded,
        via,
        result: 'failed',
        path: '-',
        connectMs: null,
        pingMs: null,
        error: null,
      };
      try {
        const r = await from.connect(to.nodeId, addrs, { timer: 5000 });
        row.result = 'connected';
        row.path = `${r.path} ${r.address}`;
        row.connectMs = r.durationMs;
        row.pingMs = await from.ping(to.nodeId);
        const c = from.connectionManager.getConnection(to.nodeId);
        await c?.connection.close();
      } catch (e) {
        const err = e as Error & { cause?: Error };
        row.result = /Rejected/.test(err.name) ? 'rejected' : 'failed';
        // The innermost cause says why (e.g. which networks the two are on).
        let why: Error = err;
        while (why.cause instanceof Error) why = why.cause;
        row.error = `${why.name}: ${why.message}`.slice(0, 100);
      }
      rows.push(row);
    };
    const [a, b, c] = nodes;
    const pairs: Array<[NodeNetwork, NodeNetwork]> = [
      [a, b],
      [b, c],
      [c, a],
    ];
    for (const [from, to] of pairs) {
      const [v4, v6] = to.addresses;
      await attempt(from, to, 'IPv4', [v4]);
      await attempt(from, to, 'IPv6', [v6]);
      await attempt(from, to, 'both', [v4, v6]);
    }
    await attempt(stranger, a, 'IPv4', [a.addresses[0]]);
    print(formatTable(rows, names));
    const connected = rows.filter((r) => r.result === 'connected').length;
    const rejected = rows.filter((r) => r.result === 'rejected').length;
    print(
      `\n${connected} of ${rows.length} attempts connected; ${rejected} refused (network mismatch).`,
    );
    const why = a.status().audit.filter((r: AuditRecord) => r.kind === 'inbound-rejected');
    if (why.length > 0) {
      print(`alice's audit trail on mallory: ${why[0].error?.message ?? ''}`);
    }
    return rows;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

export { runDemo, formatTable };
export type { DemoRow };
