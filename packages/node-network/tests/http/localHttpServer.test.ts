import { describe, test, expect, afterEach } from '@jest/globals';
import net from 'node:net';
import Logger, { LogLevel } from '@matrixai/logger';
import { serveLocalHttp, isLoopbackHost, parseHostPort } from '../../src/http/localHttpServer.js';
import type { LocalHttpServer } from '../../src/http/localHttpServer.js';
import * as errors from '../../src/errors.js';

const logger = new Logger('test', LogLevel.ERROR);

/** Sends raw bytes, returns the status code and the whole answer (the server closes). */
function raw(port: number, request: string | Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Array<Buffer> = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m != null ? Number(m[1]) : 0, text });
    });
    s.write(request);
  });
}

const servers: Array<LocalHttpServer> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function serve(): Promise<LocalHttpServer> {
  const s = await serveLocalHttp({
    host: '127.0.0.1',
    port: 0,
    logger,
    routes: {
      '/ok': () => ({ contentType: 'text/plain', body: 'fine\n' }),
      '/boom': () => {
        throw new Error('the route broke');
      },
      '/source': async () => {
        throw new errors.ErrorSnapshotSource('the source is gone');
      },
    },
  });
  servers.push(s);
  return s;
}

describe('local HTTP endpoint: hostile and malformed requests get a status, never a crash', () => {
  test('statuses', async () => {
    const s = await serve();
    const get = (path: string, extra = '') =>
      raw(s.port, `GET ${path} HTTP/1.1\r\nhost: x\r\n${extra}\r\n`);
    expect((await get('/ok')).status).toBe(200);
    expect((await get('/ok')).text).toMatch(/cache-control: no-store/i);
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/%zz%00')).status).toBe(404);
    expect((await get('http://evil.example/ok')).status).toBe(200);
    expect((await get('/' + 'a'.repeat(3000))).status).toBe(414);
    expect((await get('/ok', `x-big: ${'b'.repeat(10_000)}\r\n`)).status).toBe(431);
    expect((await get('/ok', 'content-length: 100000\r\n')).status).toBe(413);
    expect((await get('/ok', 'content-length: nonsense\r\n')).status).toBe(400);
    expect((await get('/ok', 'transfer-encoding: chunked\r\n')).status).toBe(413);
    const post = await raw(s.port, 'POST /ok HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n');
    expect(post.status).toBe(405);
    expect(post.text).toMatch(/allow: GET, HEAD/i);
    const head = await raw(s.port, 'HEAD /ok HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(head.status).toBe(200);
    expect(head.text.endsWith('\r\n\r\n')).toBe(true);
    expect((await get('/boom')).status).toBe(500);
    expect((await get('/source')).text).toMatch(/502[\s\S]*the source is gone/);
    expect((await raw(s.port, 'HELLO THERE\r\n\r\n')).status).toBe(400);
    expect((await raw(s.port, Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]))).status).toBe(400);
    // Still serving after all that, and to many at once.
    const many = await Promise.all(Array.from({ length: 50 }, () => get('/ok')));
    expect(many.every((r) => r.status === 200)).toBe(true);
  });

  test('a client that sends half a request and stops does not hold the server', async () => {
    const s = await serve();
    const idle = net.connect(s.port, '127.0.0.1');
    idle.on('error', () => {});
    idle.write('GET /ok HTTP/1.1\r\nhost: x\r\n');
    expect((await raw(s.port, 'GET /ok HTTP/1.1\r\nhost: x\r\n\r\n')).status).toBe(200);
    await s.stop(); // closes the idle connection too
    servers.splice(servers.indexOf(s), 1);
    idle.destroy();
  });

  test('non-loopback hosts are refused unless allowRemote; a taken port is a typed error', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.7', 'example.com']) {
      await expect(serveLocalHttp({ host, port: 0, routes: {} })).rejects.toBeInstanceOf(
        errors.ErrorNodeNetworkConfig,
      );
    }
    const s = await serve();
    await expect(
      serveLocalHttp({ host: '127.0.0.1', port: s.port, routes: {} }),
    ).rejects.toBeInstanceOf(errors.ErrorNodeNetworkHttp);
  });

  test('host helpers', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(h)).toBe(true);
    }
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'localhost.evil', '']) {
      expect(isLoopbackHost(h)).toBe(false);
    }
    expect(parseHostPort('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['127.0.0.1', ':80', '::1:80', 'h:99999', 'h:-1', 'h:80x', '']) {
      expect(() => parseHostPort(bad)).toThrow(errors.ErrorNodeNetworkConfig);
    }
  });
});
