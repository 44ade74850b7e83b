import net from 'node:net';
import http from 'node:http';
import { ErrorHttpRelayConfig, ErrorProxyRefused, ErrorProxyUnreachable } from './errors.js';

type ProxyEnv = Partial<
  Record<
    'HTTPS_PROXY' | 'HTTP_PROXY' | 'NO_PROXY' | 'https_proxy' | 'http_proxy' | 'no_proxy',
    string
  >
>;

/** Whether `host` matches a NO_PROXY list (`*`, exact hosts, `.domain` / `domain` suffixes, `host:port`). */
function noProxy(host: string, port: number, list: string | undefined): boolean {
  if (list == null || list.trim() === '') return false;
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const raw of list.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const [name, p] = entry.startsWith('[')
      ? [entry.slice(1, entry.indexOf(']')), entry.slice(entry.indexOf(']') + 2)]
      : entry.includes(':') && entry.split(':').length === 2
        ? entry.split(':')
        : [entry, ''];
    if (p !== '' && Number(p) !== port) continue;
    const bare = name.replace(/^\*?\./, '');
    if (h === bare || h.endsWith(`.${bare}`)) return true;
  }
  return false;
}

/**
 * The proxy to use for `url` (ws: or wss:): `explicit` if given (null: none),
 * else HTTPS_PROXY (wss) / HTTP_PROXY (ws), lower-case names too, unless
 * NO_PROXY names the host. Returns undefined for a direct connection.
 */
function proxyFor(
  url: URL,
  { explicit, env = process.env as ProxyEnv }: { explicit?: string | null; env?: ProxyEnv } = {},
): URL | undefined {
  const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
  let text: string | undefined;
  if (explicit !== undefined) {
    text = explicit ?? undefined;
  } else {
    if (noProxy(url.hostname, port, env.NO_PROXY ?? env.no_proxy)) return undefined;
    text =
      url.protocol === 'wss:'
        ? (env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy)
        : (env.HTTP_PROXY ?? env.http_proxy);
  }
  if (text == null || text === '') return undefined;
  try {
    const p = new URL(text.includes('://') ? text : `http://${text}`);
    if (p.protocol !== 'http:')
      throw new Error(`only http:// proxies are supported, not ${p.protocol}`);
    return p;
  } catch (e) {
    throw new ErrorHttpRelayConfig(
      `Proxy setting ${JSON.stringify(text)}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Opens a TCP tunnel to `host:port` through `proxy` with HTTP CONNECT.
 * Rejects with `ErrorProxyRefused` (the status it answered),
 * `ErrorProxyUnreachable`, or the signal's reason.
 */
function connectThroughProxy({
  proxy,
  host,
  port,
  signal,
}: {
  proxy: URL;
  host: string;
  port: number;
  signal?: AbortSignal;
}): Promise<net.Socket> {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise<net.Socket>((resolve, reject) => {
    const headers: Record<string, string> = { host: target };
    if (proxy.username !== '') {
      const auth = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
    }
    const req = http.request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxy.port || 80),
      method: 'CONNECT',
      path: target,
      headers,
      signal,
    });
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return reject(
          new ErrorProxyRefused(
            `Proxy ${proxy.host} answered CONNECT ${target} with ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
            { data: { status: res.statusCode } },
          ),
        );
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => {
      // A proxy that answers CONNECT with a normal response refused it.
      res.resume();
      reject(
        new ErrorProxyRefused(
          `Proxy ${proxy.host} answered CONNECT ${target} with ${res.statusCode}`,
          {
            data: { status: res.statusCode },
          },
        ),
      );
    });
    req.once('error', (e) => {
      if (signal?.aborted) return reject(signal.reason);
      reject(new ErrorProxyUnreachable(`Proxy ${proxy.host}: ${e.message}`, { cause: e }));
    });
    req.end();
  });
}

export { proxyFor, noProxy, connectThroughProxy };
export type { ProxyEnv };
