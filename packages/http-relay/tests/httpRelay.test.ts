import { describe, test, expect, afterEach } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { connectHttpRelay, relayPath } from '../src/HttpRelayClient.js';
import { proxyFor, noProxy } from '../src/proxy.js';
import * as errors from '../src/errors.js';
import { startNode, clock, logger } from './utils.js';

type Node = Awaited<ReturnType<typeof startNode>>;
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
async function node(opts?: Parameters<typeof startNode>[0]): Promise<Node> {
  const n = await startNode(opts);
  cleanup.push(() => n.stop());
  return n;
}

/** U connects to R's WebSocket endpoint (optionally through `proxy`) and adopts the connection. */
async function wsConnect(u: Node, r: Node, proxy: string | null = null) {
  const c = await connectHttpRelay({
    url: `ws://127.0.0.1:${r.server!.port}`,
    expected: r.transport.nodeId,
    localNodeId: u.transport.nodeId,
    tunnelIdentity: u.tunnelIdentity,
    clock,
    proxy,
    timer: 5_000,
  });
  return u.manager.adoptDialled(c, 'http-relay');
}

/** A tinyproxy on loopback allowing CONNECT to `connectPorts` (none: any). */
async function tinyproxy(connectPorts: Array<number> = []): Promise<number | undefined> {
  if (spawnSync('sh', ['-c', 'command -v tinyproxy']).status !== 0) return undefined;
  const port = await new Promise<number>((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-tinyproxy-'));
  const conf = path.join(dir, 'tinyproxy.conf');
  fs.writeFileSync(
    conf,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 60',
      'MaxClients 50',
      'Allow 127.0.0.1',
      ...connectPorts.map((p) => `ConnectPort ${p}`),
      `PidFile "${path.join(dir, 'pid')}"`,
    ].join('\n'),
  );
  const proc = spawn('tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
  cleanup.push(() => {
    proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((res) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), res(true)));
      s.on('error', () => res(false));
    });
    if (up) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('tinyproxy did not start');
}

describe('proxy settings', () => {
  test('HTTP_PROXY / HTTPS_PROXY / NO_PROXY choose the proxy per URL', () => {
    const env = {
      HTTP_PROXY: 'http://p:3128',
      HTTPS_PROXY: 'proxy.example:8080',
      NO_PROXY: 'localhost,.internal,10.0.0.1:81',
    };
    expect(proxyFor(new URL('ws://relay.example:80'), { env })?.host).toBe('p:3128');
    expect(proxyFor(new URL('wss://relay.example'), { env })?.host).toBe('proxy.example:8080');
    expect(proxyFor(new URL('ws://a.internal'), { env })).toBeUndefined();
    expect(proxyFor(new URL('ws://localhost:9'), { env })).toBeUndefined();
    expect(proxyFor(new URL('ws://10.0.0.1:81'), { env })).toBeUndefined();
    expect(proxyFor(new URL('ws://10.0.0.1:82'), { env })?.host).toBe('p:3128');
    expect(proxyFor(new URL('ws://x'), { env, explicit: null })).toBeUndefined();
    expect(noProxy('anything', 1, '*')).toBe(true);
    expect(() => proxyFor(new URL('ws://x'), { env: { HTTP_PROXY: 'socks5://p:1' } })).toThrow(
      errors.ErrorHttpRelayConfig,
    );
  });
});

describe('HTTP relay over WebSocket on loopback', () => {
  test('a node reaches a relay over WebSocket: RPC on it, and others reach the node through the relay', async () => {
    const r = await node({ ws: true });
    const u = await node();
    const a = await node();
    const ur = await wsConnect(u, r);
    expect((ur.connection as { path?: string }).path).toBe('websocket');
    await u.manager.ping(r.transport.nodeId);
    // R sees U's connection (adopted), and relays A's circuit to U over it.
    await new Promise((res) => setTimeout(res, 20));
    expect(r.manager.getConnection(u.transport.nodeId)).toBeDefined();
    const ar = await a.manager.connect(r.transport.nodeId, r.transport.localAddresses);
    const au = await a.relay.dial(ar, u.transport.nodeId);
    a.manager.adoptDialled(au, 'relayed');
    await a.manager.ping(u.transport.nodeId);
    // And U dials out the same way: through R to A.
    const ua = await u.relay.dial(ur, a.transport.nodeId);
    expect(ua.path).toBe('relayed');
    expect(ua.overHttp).toBe(true);
    expect(au.overHttp).toBe(true);
  });

  test('through tinyproxy (HTTP CONNECT): connected; a proxy that refuses CONNECT gives ErrorProxyRefused', async () => {
    const r = await node({ ws: true });
    const u = await node();
    const allowing = await tinyproxy([r.server!.port]);
    if (allowing == null) {
      if (process.env.CI === 'true') throw new Error('tinyproxy is missing in CI');
      console.warn('Skipping the tinyproxy test: tinyproxy is not installed');
      return;
    }
    const ur = await wsConnect(u, r, `http://127.0.0.1:${allowing}`);
    await u.manager.ping(r.transport.nodeId);
    // Its TCP peer is the proxy, not the relay.
    expect(ur.connection.remoteAddress.port).toBe(allowing);
    const refusing = await tinyproxy([1]);
    const u2 = await node();
    await expect(wsConnect(u2, r, `http://127.0.0.1:${refusing}`)).rejects.toBeInstanceOf(
      errors.ErrorProxyRefused,
    );
    // A proxy that is not there.
    await expect(wsConnect(u2, r, 'http://127.0.0.1:1')).rejects.toBeInstanceOf(
      errors.ErrorProxyUnreachable,
    );
  });

  test('the relay disappears: the connection closes with a typed error; a dead endpoint fails, never hangs', async () => {
    const r = await node({ ws: true });
    const u = await node();
    const ur = await wsConnect(u, r);
    const closed = new Promise<Error | undefined>((res) => ur.connection.onClose(res));
    await r.server!.stop();
    expect(await closed).toBeInstanceOf(baseErrors.ErrorConnectionClosed);
    const u2 = await node();
    await expect(wsConnect(u2, r)).rejects.toBeInstanceOf(errors.ErrorHttpRelayUnreachable);
  });

  test('garbage from a WebSocket peer: the relay drops it and keeps serving; a wrong relay identity is refused', async () => {
    const r = await node({ ws: true });
    for (const send of [
      (ws: WebSocket) => ws.send('hello', { binary: false }),
      (ws: WebSocket) => ws.send(crypto.randomBytes(5000)),
      (ws: WebSocket) => ws.send(Buffer.alloc(2 * 1024 * 1024)),
    ]) {
      const ws = new WebSocket(`ws://127.0.0.1:${r.server!.port}${relayPath}`);
      await new Promise((res) => ws.once('open', res));
      const gone = new Promise((res) => ws.once('close', res));
      ws.on('error', () => {});
      send(ws);
      await gone;
    }
    // Another path, or plain HTTP, is refused.
    const other = new WebSocket(`ws://127.0.0.1:${r.server!.port}/other`);
    await new Promise((res) => other.once('error', res));
    // Still serving.
    const u = await node();
    await wsConnect(u, r);
    await u.manager.ping(r.transport.nodeId);
    // U expecting another NodeId at R's endpoint refuses the connection.
    const u2 = await node();
    await expect(
      connectHttpRelay({
        url: `ws://127.0.0.1:${r.server!.port}`,
        expected: identity.generateKeyPair().publicKey as any,
        localNodeId: u2.transport.nodeId,
        tunnelIdentity: u2.tunnelIdentity,
        clock,
        proxy: null,
      }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorConnectionPeerRejected);
  });

  test('quotas: connections per IP and in all are refused at the upgrade', async () => {
    const r = await node({ ws: true, serverConfig: { maxConnectionsPerIp: 1 } });
    const u1 = await node();
    const u2 = await node();
    await wsConnect(u1, r);
    await expect(wsConnect(u2, r)).rejects.toThrow(/429/);
    const full = await node({ ws: true, serverConfig: { maxConnections: 0 } });
    await expect(wsConnect(u2, full)).rejects.toThrow(/503/);
  });

  test('wss: a relay with a certificate serves TLS, and the client connects with wss://', async () => {
    const r = await node();
    const kp = identity.generateKeyPair();
    const cert = await identity.createCertificate({
      subjectKeyPair: kp,
      network: 'testnet',
      now: new Date(),
      durationSeconds: 3600,
    });
    const { default: HttpRelayServer } = await import('../src/HttpRelayServer.js');
    const server = new HttpRelayServer({
      localNodeId: r.transport.nodeId,
      tunnelIdentity: r.tunnelIdentity,
      clock,
      onConnection: (c) => r.manager.adoptDialled(c, 'http-relay', 'inbound'),
      logger,
    });
    await server.start({
      host: '127.0.0.1',
      tls: {
        key: identity.privateKeyToPem(kp.privateKey),
        cert: identity.certificateChainToPem([cert]),
      },
    });
    cleanup.push(() => server.stop());
    const u = await node();
    const c = await connectHttpRelay({
      url: `wss://127.0.0.1:${server.port}`,
      expected: r.transport.nodeId,
      localNodeId: u.transport.nodeId,
      tunnelIdentity: u.tunnelIdentity,
      clock,
      proxy: null,
    });
    u.manager.adoptDialled(c, 'http-relay');
    await u.manager.ping(r.transport.nodeId);
    // A plain ws:// client against the TLS endpoint fails with a typed error.
    await expect(
      connectHttpRelay({
        url: `ws://127.0.0.1:${server.port}`,
        expected: r.transport.nodeId,
        localNodeId: u.transport.nodeId,
        tunnelIdentity: u.tunnelIdentity,
        clock,
        proxy: null,
        timer: 3_000,
      }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorNodeNetwork);
  });
});
