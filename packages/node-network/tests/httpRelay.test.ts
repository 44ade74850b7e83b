import { test, expect, afterEach } from '@jest/globals';
import net from 'node:net';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import NodeNetwork from '../src/NodeNetwork.js';

const logger = new Logger('http-relay-loopback', LogLevel.ERROR);
const running: Array<NodeNetwork> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.stop().catch(() => {})));
});

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

async function until(f: () => boolean, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms;) {
    if (f()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return f();
}

test('real WebSocket on loopback: the relay goes away, the node retries with backoff and reconnects when it is back', async () => {
  const wsPort = await freePort();
  const r = await NodeNetwork.createNodeNetwork({
    keyPair: identity.generateKeyPair(),
    network: 'testnet',
    listen: [{ host: '127.0.0.1', port: 0 }],
    httpRelay: { listen: { host: '127.0.0.1', port: wsPort } },
    logger,
  });
  running.push(r);
  const u = await NodeNetwork.createNodeNetwork({
    keyPair: identity.generateKeyPair(),
    network: 'testnet',
    listen: [{ host: '127.0.0.1', port: 0 }],
    httpRelay: {
      mode: 'always',
      relays: [`${r.nodeIdEncoded}@ws://127.0.0.1:${wsPort}`],
      proxy: null,
    },
    logger,
  });
  running.push(u);
  const viaWs = () =>
    u.status().connections.some((c) => c.nodeId === r.nodeIdEncoded && c.path === 'http-relay');
  expect(await until(viaWs, 10_000)).toBe(true);
  expect(await u.ping(r.nodeId)).toBeGreaterThanOrEqual(0);
  // The relay's endpoint goes away: the connection closes, reconnects fail and back off.
  await r.httpRelay!.server.stop();
  expect(await until(() => !viaWs(), 10_000)).toBe(true);
  const retries = () =>
    u.status().audit.filter((x) => /could not reach HTTP relay .*retrying in/.test(x.detail ?? ''));
  expect(await until(() => retries().length >= 2, 10_000)).toBe(true);
  const waits = retries().map((x) => Number(/retrying in (\d+) ms/.exec(x.detail!)![1]));
  expect(waits[1]).toBeGreaterThan(waits[0]);
  // Back on the same port: the node reconnects by itself.
  await r.httpRelay!.server.start({ host: '127.0.0.1', port: wsPort });
  expect(await until(viaWs, 20_000)).toBe(true);
  expect(await u.ping(r.nodeId)).toBeGreaterThanOrEqual(0);
}, 60_000);
