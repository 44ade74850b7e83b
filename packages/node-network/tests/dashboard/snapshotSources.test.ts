import type { NetworkSnapshot } from '../../src/dashboard/types.js';
import { describe, test, expect, afterEach } from '@jest/globals';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Logger, { LogLevel } from '@matrixai/logger';
import { fromControl, fromFile, fromUrl } from '../../src/dashboard/snapshotSources.js';
import { main, startDashboard } from '../../src/cli.js';
import { serveControl } from '../../src/control.js';
import { agentControl } from '../../src/agentControl.js';
import { NodeNetwork, identity } from '../../src/index.js';
import * as errors from '../../src/errors.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const good: NetworkSnapshot = {
  time: 1_800_000_000_000,
  source: 'chaosnet',
  nodes: [
    { id: 'a', up: true },
    { id: 'b', up: true, nat: 'symmetric' },
  ],
  links: [{ a: 'a', b: 'b', path: 'relayed' }],
  events: [{ time: 1_800_000_000_000, kind: 'relay', text: 'a relays for b' }],
};

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-dash-'));
  cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

/** An HTTP server of fixed answers, some of them hostile. */
async function upstream(): Promise<string> {
  const server = http.createServer((req, res) => {
    if (req.url === '/good') return res.end(JSON.stringify(good));
    if (req.url === '/bad') return res.end('{"time": "not json');
    if (req.url === '/wrong') return res.end(JSON.stringify({ ...good, nodes: 'many' }));
    if (req.url === '/500') {
      res.statusCode = 500;
      return res.end('oops');
    }
    if (req.url === '/huge') {
      const mb = Buffer.alloc(1024 * 1024, 0x20);
      let n = 0;
      const more = () => {
        while (n < 17) {
          n++;
          if (!res.write(mb)) return res.once('drain', more);
        }
        res.end();
      };
      res.on('error', () => {});
      return more();
    }
    // /slow: never answers.
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

describe('dashboard snapshot sources: bad input is a typed error, never a crash', () => {
  test('a file', async () => {
    const d = tmp();
    const f = path.join(d, 's.json');
    fs.writeFileSync(f, JSON.stringify(good));
    expect(await fromFile(f)()).toEqual(good);
    fs.writeFileSync(f, '{"nodes": [');
    await expect(fromFile(f)()).rejects.toBeInstanceOf(errors.ErrorNetworkSnapshotInvalid);
    fs.writeFileSync(f, JSON.stringify({ ...good, links: [{ a: 'a' }] }));
    await expect(fromFile(f)()).rejects.toThrow(/links\[0\]\.b/);
    await expect(fromFile(path.join(d, 'missing.json'))()).rejects.toBeInstanceOf(
      errors.ErrorSnapshotSource,
    );
    await expect(fromFile(d)()).rejects.toBeInstanceOf(errors.ErrorSnapshotSource);
    fs.truncateSync(f, 17 * 1024 * 1024); // sparse
    await expect(fromFile(f)()).rejects.toThrow(/larger than/);
  });

  test('a URL', async () => {
    const base = await upstream();
    expect(await fromUrl(`${base}/good`)()).toEqual(good);
    await expect(fromUrl(`${base}/bad`)()).rejects.toBeInstanceOf(
      errors.ErrorNetworkSnapshotInvalid,
    );
    await expect(fromUrl(`${base}/wrong`)()).rejects.toBeInstanceOf(
      errors.ErrorNetworkSnapshotInvalid,
    );
    await expect(fromUrl(`${base}/500`)()).rejects.toThrow(/HTTP 500/);
    await expect(fromUrl(`${base}/huge`)()).rejects.toThrow(/larger than/);
    await expect(fromUrl(`${base}/slow`, 300)()).rejects.toBeInstanceOf(errors.ErrorSnapshotSource);
    const closed = base.replace(/:\d+$/, ':1');
    await expect(fromUrl(`${closed}/x`)()).rejects.toBeInstanceOf(errors.ErrorSnapshotSource);
    expect(() => fromUrl('file:///etc/passwd')).toThrow(errors.ErrorNodeNetworkConfig);
    expect(() => fromUrl('not a url')).toThrow(errors.ErrorNodeNetworkConfig);
  });

  test('a control socket', async () => {
    const d = tmp();
    const sock = path.join(d, 'c.sock');
    let answer: unknown = good;
    const server = await serveControl(sock, async () => answer);
    cleanup.push(() => server.close());
    expect(await fromControl(sock)()).toEqual(good);
    answer = { nodes: 3 };
    await expect(fromControl(sock)()).rejects.toBeInstanceOf(errors.ErrorNetworkSnapshotInvalid);
    await expect(fromControl(path.join(d, 'nobody.sock'))()).rejects.toBeInstanceOf(
      errors.ErrorSnapshotSource,
    );
  });

  test('the CLI: a bad --file fails at once; a good one is served and re-read; a running agent is served; one dashboard serves another', async () => {
    const d = tmp();
    const f = path.join(d, 's.json');
    fs.writeFileSync(f, 'this is not JSON');
    await expect(main(['dashboard', '--file', f, '--port', '0'])).rejects.toBeInstanceOf(
      errors.ErrorNetworkSnapshotInvalid,
    );
    await expect(
      main(['dashboard', '--file', f, '--control', 'x', '--port', '0']),
    ).rejects.toBeInstanceOf(errors.ErrorNodeNetworkConfig);
    await expect(main(['dashboard', '--file', f, '--port', 'http'])).rejects.toBeInstanceOf(
      errors.ErrorNodeNetworkConfig,
    );
    fs.writeFileSync(f, JSON.stringify(good));
    await expect(
      main(['dashboard', '--file', f, '--port', '0', '--host', '0.0.0.0']),
    ).rejects.toBeInstanceOf(errors.ErrorNodeNetworkConfig);
    const server = await startDashboard(['--file', f, '--port', '0']);
    cleanup.push(() => server.stop());
    expect(JSON.parse((await get(`${server.url}/snapshot.json`)).body)).toEqual(good);
    expect((await get(`${server.url}/`)).body).toMatch(/^<!doctype html>/);
    fs.writeFileSync(f, '{"broken"');
    const broken = await get(`${server.url}/snapshot.json`);
    expect(broken.status).toBe(502);
    expect(JSON.parse(broken.body).error).toMatch(/not JSON/);
    const edited = { ...good, time: good.time + 1 };
    fs.writeFileSync(f, JSON.stringify(edited));
    expect(JSON.parse((await get(`${server.url}/snapshot.json`)).body)).toEqual(edited);
    // Another dashboard reading this one's snapshots.
    const chained = await startDashboard([
      '--snapshot-url',
      `${server.url}/snapshot.json`,
      '--port',
      '0',
    ]);
    cleanup.push(() => chained.stop());
    expect(JSON.parse((await get(`${chained.url}/snapshot.json`)).body)).toEqual(edited);

    // A running agent, through its control socket.
    const nn = await NodeNetwork.createNodeNetwork({
      keyPair: identity.generateKeyPair(),
      network: 'testnet',
      listen: [{ host: '127.0.0.1', port: 0 }],
      logger: new Logger('test', LogLevel.ERROR),
    });
    cleanup.push(() => nn.stop());
    const sock = path.join(d, 'agent.sock');
    const control = await serveControl(sock, agentControl(nn));
    cleanup.push(() => control.close());
    const live = await startDashboard(['--control', sock, '--port', '0']);
    cleanup.push(() => live.stop());
    const s = JSON.parse((await get(`${live.url}/snapshot.json`)).body) as NetworkSnapshot;
    expect(s).toMatchObject({
      source: 'node',
      nodes: [{ id: nn.nodeIdEncoded, up: true, relay: true }],
      links: [],
    });
    expect(Array.isArray(s.events)).toBe(true);
  });
});
