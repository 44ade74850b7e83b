import type Logger from '@matrixai/logger';
import http from 'node:http';
import net from 'node:net';
import * as errors from '../errors.js';

/** One route's answer. */
type LocalHttpResponse = {
  status?: number;
  contentType: string;
  body: string | Buffer;
  headers?: Record<string, string>;
};

type LocalHttpRoute = () => Promise<LocalHttpResponse> | LocalHttpResponse;

type LocalHttpServer = {
  host: string;
  port: number;
  /** `http://host:port` (IPv6 hosts bracketed). */
  url: string;
  stop(): Promise<void>;
};

/** Request URLs longer than this are refused (414). */
const maxUrlLength = 2048;
/** Request bodies are not read: a GET that announces one larger than this is refused (413). */
const maxBodyLength = 1024;

/** Whether `host` is a loopback name or address (127.0.0.0/8, ::1, IPv4-mapped 127/8, localhost). */
function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** `HOST:PORT` (IPv6 in brackets) to its parts; `ErrorNodeNetworkConfig` unless well formed. */
function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m != null ? Number(m[3]) : NaN;
  if (m == null || port > 65535) {
    throw new errors.ErrorNodeNetworkConfig(`${JSON.stringify(text)} is not HOST:PORT`);
  }
  return { host: m[1] ?? m[2], port };
}

function send(res: http.ServerResponse, r: LocalHttpResponse, head: boolean): void {
  const body = typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body;
  res.writeHead(r.status ?? 200, {
    'content-type': r.contentType,
    'content-length': String(body.byteLength),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'close',
    ...r.headers,
  });
  res.end(head ? undefined : body);
}

function jsonError(status: number, message: string): LocalHttpResponse {
  return {
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({ error: message }) + '\n',
  };
}

/**
 * A small HTTP server for local tools (metrics, the dashboard): GET (and
 * HEAD) on fixed paths only, on a loopback address unless `allowRemote`.
 * Anything else is answered with its status, never a crash: another method
 * 405, an unknown path 404, a URL over 2 KiB 414, a request body 413,
 * headers over 8 KiB 431, a failing route 500 (502 when its source
 * failed or gave a malformed snapshot), and slow clients time out.
 */
async function serveLocalHttp({
  host,
  port,
  allowRemote = false,
  routes,
  logger,
}: {
  host: string;
  port: number;
  allowRemote?: boolean;
  routes: Record<string, LocalHttpRoute>;
  logger?: Logger;
}): Promise<LocalHttpServer> {
  if (!allowRemote && !isLoopbackHost(host)) {
    throw new errors.ErrorNodeNetworkConfig(
      `Refusing to serve on ${host}: not a loopback address (allowRemote to override)`,
    );
  }
  const server = http.createServer(
    { maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000 },
    (req, res) => {
      const head = req.method === 'HEAD';
      const answer = (r: LocalHttpResponse) => send(res, r, head);
      if (req.method !== 'GET' && !head) {
        return answer({ ...jsonError(405, 'only GET'), headers: { allow: 'GET, HEAD' } });
      }
      const url = req.url ?? '/';
      if (url.length > maxUrlLength) return answer(jsonError(414, 'URL too long'));
      const length = Number(req.headers['content-length'] ?? 0);
      if (req.headers['transfer-encoding'] != null || !(length <= maxBodyLength)) {
        return answer(jsonError(413, 'no request body expected'));
      }
      let pathname: string;
      try {
        pathname = new URL(url, 'http://localhost').pathname;
      } catch {
        return answer(jsonError(400, 'malformed URL'));
      }
      const route = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
      if (route == null) return answer(jsonError(404, `no such path: ${pathname.slice(0, 100)}`));
      Promise.resolve()
        .then(route)
        .then(answer, (e: Error) => {
          logger?.warn(`GET ${pathname.slice(0, 100)} failed: ${e.message}`);
          answer(
            jsonError(
              e instanceof errors.ErrorSnapshotSource ||
                e instanceof errors.ErrorNetworkSnapshotInvalid
                ? 502
                : 500,
              e.message,
            ),
          );
        })
        .catch(() => res.destroy());
    },
  );
  // Malformed requests and oversized headers: node answers 400 / 431 itself (no clientError listener).
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new errors.ErrorNodeNetworkHttp(`Cannot listen on ${host}:${port}: ${e.message}`, {
          cause: e,
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  server.on('error', (e) => logger?.warn(`HTTP server: ${e.message}`));
  const bound = server.address() as net.AddressInfo;
  const urlHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    host: bound.address,
    port: bound.port,
    url: `http://${urlHost}:${bound.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export { serveLocalHttp, isLoopbackHost, parseHostPort, jsonError };
export type { LocalHttpServer, LocalHttpRoute, LocalHttpResponse };
