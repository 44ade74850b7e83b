import { describe, test, expect, afterEach } from '@jest/globals';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Logger, { LogLevel } from '@matrixai/logger';
import { DB, NodeGraph } from '@node-network/nodegraph';
import type { NodeId } from '@node-network/network-interface';
import { errors as baseErrors } from '@node-network/network-interface';
import { NodeNetwork, identity } from '../src/index.js';
import { main } from '../src/cli.js';
import { serveControl } from '../src/control.js';
import { agentControl } from '../src/agentControl.js';

const logger = new Logger('test', LogLevel.ERROR);
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

type Options = Partial<Parameters<typeof NodeNetwork.createNodeNetwork>[0]>;

async function node(opts: Options = {}): Promise<NodeNetwork> {
  const nn = await NodeNetwork.createNodeNetwork({
    keyPair: identity.generateKeyPair(),
    network: 'testnet',
    listen: [{ host: '127.0.0.1', port: 0 }],
    directTimeoutTime: 1_500,
    logger,
    ...opts,
  });
  cleanup.push(() => nn.stop());
  return nn;
}

/** A NodeGraph and the audit log in one RocksDB, as the agent keeps them. */
async function store(dir: string, keyPair: identity.KeyPair) {
  const db = await DB.createDB({ dbPath: dir, logger: logger.getChild('DB') as any });
  const graph = new NodeGraph({ db, nodeId: keyPair.publicKey as NodeId, logger });
  await graph.start();
  const stop = async () => {
    await graph.stop();
    await db.stop();
  };
  cleanup.push(stop);
  return { db, graph, stop };
}

/** Runs the CLI, returns its exit code and what it printed. */
async function cli(args: Array<string>): Promise<{ code: number; out: string }> {
  const writes: Array<string> = [];
  const orig = process.stdout.write.bind(process.stdout);
  (process.stdout as any).write = (s: string) => {
    writes.push(String(s));
    return true;
  };
  try {
    return { code: await main(args), out: writes.join('') };
  } finally {
    (process.stdout as any).write = orig;
  }
}

/** One raw line to the control socket, its one answer line (or '' when it closed on us). */
function rawControl(sock: string, line: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(sock);
    let buf = '';
    s.on('data', (c) => (buf += c));
    s.on('error', () => {});
    s.on('close', () => resolve(buf));
    s.write(line);
  });
}

function ghostId(): string {
  return identity.encodeNodeId(identity.nodeIdFromPublicKey(identity.generateKeyPair().publicKey));
}

describe('explain, status and the persisted audit log on loopback', () => {
  test('explains a direct connection, a failed dial and a refused peer; the CLI asks over the control socket; records survive a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-explain-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const keyPair = identity.generateKeyPair();
    const s1 = await store(dir, keyPair);
    const a = await node({
      keyPair,
      nodeGraph: s1.graph,
      maintenance: false,
      audit: { db: s1.db },
    });
    const b = await node();
    const m = await node({ network: 'mainnet' });
    const t0 = Date.now();
    const r = await a.connect(b.nodeIdEncoded, [b.addresses[0]]);
    expect(r.path).toBe('direct');
    // A node nobody runs, at a port nobody listens on.
    const ghost = ghostId();
    const closed = net.createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const deadPort = (closed.address() as net.AddressInfo).port;
    closed.close();
    await expect(
      a.connect(ghost, [`127.0.0.1:${deadPort}`], { timer: 3_000 }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorConnectionDial);
    // Another network's node: refused.
    await expect(a.connect(m.nodeIdEncoded, m.addresses, { timer: 3_000 })).rejects.toBeInstanceOf(
      baseErrors.ErrorConnectionDial,
    );

    const eb = await a.explain(b.nodeIdEncoded);
    expect(eb).toMatchObject({
      nodeId: b.nodeIdEncoded,
      connected: true,
      connection: { path: 'direct', remoteAddress: b.addresses[0], initiator: 'local' },
    });
    expect(eb.connection!.since).toBeGreaterThanOrEqual(t0 - 1000);
    expect(eb.attempts.some((x) => x.outcome === 'ok' && x.address === b.addresses[0])).toBe(true);
    expect(eb.dials.at(-1)).toMatchObject({ outcome: 'ok', path: 'direct' });
    expect(eb.connections.some((x) => x.kind === 'connection-open')).toBe(true);
    expect(eb.nodeGraph?.addresses.map((x) => `${x.host}:${x.port}`)).toContain(b.addresses[0]);
    expect(eb.nat.local.ipv4.kind).toBeDefined();
    expect(eb.text).toMatch(
      /^Connected to v\S+ by a direct path at 127\.0\.0\.1:\d+ \(we dialled\), since /,
    );
    expect(eb.text).toMatch(/NodeGraph: 1 addresses/);

    const eg = await a.explain(ghost);
    expect(eg.connected).toBe(false);
    expect(eg.attempts.length).toBeGreaterThan(0);
    expect(eg.attempts.every((x) => x.outcome !== 'ok' && x.error != null)).toBe(true);
    expect(eg.nodeGraph).toBeNull();
    expect(eg.text).toMatch(/^Not connected to v\S+\. Last direct dial (failed|timeout)/);

    const em = await a.explain(m.nodeIdEncoded);
    expect(em.connected).toBe(false);
    expect(em.refusals.length).toBeGreaterThan(0);
    expect(em.refusals.at(-1)!.error).toMatch(/mainnet|network/i);
    expect(em.text).toMatch(/Refused \d+ times/);

    // The same through the control socket and the CLI.
    const sock = path.join(dir, 'agent.sock');
    const control = await serveControl(sock, agentControl(a));
    cleanup.push(() => control.close());
    const json = await cli(['explain', b.nodeIdEncoded, '--json', '--control', sock]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ connected: true, connection: { path: 'direct' } });
    const text = await cli(['explain', ghost, '--control', sock]);
    expect(text.out).toMatch(/^Not connected to /);
    const st = JSON.parse((await cli(['status', '--json', '--control', sock])).out);
    expect(st).toMatchObject({
      nodeId: a.nodeIdEncoded,
      connections: [{ nodeId: b.nodeIdEncoded, path: 'direct' }],
      nodeGraph: { size: 1 },
      nat: { ipv4: { mapping: expect.any(String) }, ipv6: expect.any(Object) },
      relayService: { circuits: 0 },
    });
    expect(st.auditCounts.stored).toBeGreaterThan(5);
    expect(st.auditCounts.byKind['dial-attempt']).toBeGreaterThanOrEqual(3);
    const human = (await cli(['status', '--control', sock])).out;
    expect(human).toMatch(/-> v\S+ direct 127\.0\.0\.1:\d+/);
    expect(human).toMatch(/NodeGraph: 1 contacts/);
    const audit = (await cli(['audit', '--control', sock, '--node', ghost, '--json'])).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((x) => x.nodeId === ghost)).toBe(true);
    const dialsOnly = (await cli(['audit', '--control', sock, '--kind', 'dial-result'])).out;
    expect(
      dialsOnly
        .trim()
        .split('\n')
        .every((l) => /dial-result/.test(l)),
    ).toBe(true);

    // Hostile requests on the control socket: error replies, never a crash.
    const bad = [
      'not json\n',
      '[]\n',
      'null\n',
      '{"command": 7}\n',
      '{"command": "status", "args": []}\n',
      '{"command": "explain"}\n',
      '{"command": "explain", "args": {"nodeId": "vnot-a-node"}}\n',
      '{"command": "explain", "args": {"nodeId": 5}}\n',
      '{"command": "explain", "args": {"nodeId": "' + ghost + '", "limit": "all"}}\n',
      '{"command": "audit", "args": {"kinds": "signal"}}\n',
      '{"command": "audit", "args": {"since": "yesterday"}}\n',
      '{"command": "reboot"}\n',
    ];
    for (const line of bad) {
      const answer = JSON.parse(await rawControl(sock, line));
      expect(answer.error).toEqual(expect.any(String));
    }
    expect(await rawControl(sock, 'x'.repeat(70_000))).toBe('');
    await expect(cli(['explain', 'vnot-a-node', '--control', sock])).rejects.toBeInstanceOf(
      baseErrors.ErrorCodec,
    );
    await expect(cli(['explain', '--control', sock])).rejects.toThrow(/one NODEID/);
    expect(JSON.parse(await rawControl(sock, '{"command":"status"}\n')).result.nodeId).toBe(
      a.nodeIdEncoded,
    );

    // Restart on the same DB: the attempts are still there to explain.
    await a.stop();
    await s1.stop();
    const s2 = await store(dir, keyPair);
    const a2 = await node({
      keyPair,
      nodeGraph: s2.graph,
      maintenance: false,
      audit: { db: s2.db },
    });
    const again = await a2.explain(ghost);
    expect(again.attempts).toEqual(eg.attempts);
    const eb2 = await a2.explain(b.nodeIdEncoded);
    expect(eb2.connected).toBe(false);
    expect(eb2.attempts.some((x) => x.outcome === 'ok')).toBe(true);
    expect(eb2.text).toMatch(/^Not connected/);
  }, 60_000);

  test('without a DB: explain reads the in-memory ring; no records is said so', async () => {
    const a = await node();
    const b = await node();
    await a.connect(b.nodeIdEncoded, b.addresses);
    const e = await a.explain(b.nodeId);
    expect(e.connected).toBe(true);
    expect(e.nodeGraph).toBeUndefined();
    expect(e.records).toBeGreaterThan(0);
    const none = await a.explain(ghostId());
    expect(none).toMatchObject({ connected: false, records: 0, attempts: [] });
    expect(none.text).toMatch(/No audit records mention it/);
    expect(a.status().auditCounts.stored).toBeUndefined();
    await expect(a.explain('vbad')).rejects.toBeInstanceOf(baseErrors.ErrorCodec);
  });
});
