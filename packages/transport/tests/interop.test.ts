import type { ChildProcess } from 'node:child_process';
import { describe, test, expect, afterEach } from '@jest/globals';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as identity from '@node-network/network-identity';
import { toAddress } from '../src/addresses.js';
import { startNode, startTransport, engines } from './utils.js';
import type { TestNode } from './utils.js';

/**
 * Wire compatibility of our patched @matrixai/quic 2.0.9 with a stock
 * @matrixai/quic 1.3.0 peer (what Polykey 1.x agents run), both ways, on both
 * engines (main thread and worker threads): streams, and @matrixai/rpc calls.
 */
const fixture = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'stockQuicPeer.mjs',
);
const children: Array<ChildProcess> = [];

function runPeer(args: Array<string>): { child: ChildProcess; next: () => Promise<any> } {
  const child = spawn(process.execPath, [fixture, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Array<any> = [];
  const waiters: Array<(l: any) => void> = [];
  let buf = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const l = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w != null) w(l);
      else lines.push(l);
    }
  });
  const next = () =>
    lines.length > 0
      ? Promise.resolve(lines.shift())
      : new Promise((resolve, reject) => {
          waiters.push(resolve);
          child.once('exit', (code) => reject(new Error(`stock peer exited ${code}: ${err}`)));
        });
  return { child, next };
}

function pattern(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 13) & 0xff);
}

const nodes: Array<TestNode> = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe.each(engines)('interop with stock @matrixai/quic 1.3.0 (%s engine)', (engine) => {
  test('we dial a stock server: its NodeId is verified and a stream echoes 2 MB intact', async () => {
    const peer = runPeer(['server']);
    const ready = await peer.next();
    const t = await startTransport({ engine });
    try {
      const c = await t.dial(
        identity.decodeNodeId(ready.nodeId),
        toAddress('127.0.0.1', ready.port),
      );
      expect(identity.encodeNodeId(c.remoteNodeId)).toBe(ready.nodeId);
      const s = await c.openStream();
      const data = pattern(2_000_000);
      const writing = (async () => {
        const w = s.writable.getWriter();
        for (let o = 0; o < data.length; o += 65536) await w.write(data.subarray(o, o + 65536));
        await w.close();
      })();
      const chunks: Array<Uint8Array> = [];
      const r = s.readable.getReader();
      for (let x = await r.read(); !x.done; x = await r.read()) chunks.push(x.value);
      await writing;
      expect(Buffer.concat(chunks).equals(Buffer.from(data))).toBe(true);
      await c.close();
    } finally {
      await t.stop();
    }
  }, 30_000);

  test('a stock client dials us: we verify it, accept it, and echo 2 MB intact', async () => {
    const t = await startTransport({ engine });
    const accepted = new Promise<string>((resolve) =>
      t.onConnection((c) => {
        c.onStream((s) => void s.readable.pipeTo(s.writable).catch(() => {}));
        resolve(identity.encodeNodeId(c.remoteNodeId));
      }),
    );
    try {
      const peer = runPeer([
        'client',
        JSON.stringify({ host: '127.0.0.1', port: t.localAddresses[0].port, bytes: 2_000_000 }),
      ]);
      const result = await peer.next();
      expect(result).toEqual({ event: 'echoed', bytes: 2_000_000, intact: true });
      expect(await accepted).toMatch(/^v[0-9a-v]{52}$/);
    } finally {
      await t.stop();
    }
  }, 30_000);

  test('we call RPC on a stock server: ping and echo answer', async () => {
    const peer = runPeer(['rpc-server']);
    const ready = await peer.next();
    const n = await startNode({ engine });
    nodes.push(n);
    const nodeId = identity.decodeNodeId(ready.nodeId);
    const nc = await n.manager.connect(nodeId, [toAddress('127.0.0.1', ready.port)]);
    expect(await n.manager.ping(nodeId)).toBeGreaterThanOrEqual(0);
    expect(await nc.rpc.unary('echo', { hello: 'stock', n: 7 })).toMatchObject({
      hello: 'stock',
      n: 7,
    });
  }, 30_000);

  test('a stock client calls our RPC: ping and observedAddress', async () => {
    const n = await startNode({ engine });
    nodes.push(n);
    const peer = runPeer([
      'rpc-client',
      JSON.stringify({ host: '127.0.0.1', port: n.transport.localAddresses[0].port }),
    ]);
    const result = await peer.next();
    expect(result.event).toBe('rpc');
    expect(result.ping).toEqual({});
    expect(result.observed).toEqual({ host: '127.0.0.1', port: result.localPort });
  }, 30_000);
});
