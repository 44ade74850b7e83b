import type { HttpRequest } from './types.js';
import http from 'node:http';
import {
  ErrorUPnPGatewayUnreachable,
  ErrorUPnPResponseInvalid,
  ErrorUPnPResponseTooLarge,
} from './errors.js';

/** Errors of the connection itself (as opposed to a malformed answer). */
const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * The real `HttpRequest`: one HTTP/1.1 exchange over node:http with no
 * connection reuse. The body is read up to `maxBytes` (a larger
 * Content-Length is refused before reading), must be UTF-8, and the signal
 * aborts everything, headers or body, with its reason. Time limits are the
 * caller's, through the signal.
 */
const nodeHttpRequest: HttpRequest = ({
  url,
  method,
  headers,
  body,
  maxBytes,
  localAddress,
  signal,
}) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    let target: URL;
    try {
      target = new URL(url);
      if (target.protocol !== 'http:') throw new Error(`${target.protocol} is not http:`);
    } catch (e) {
      return reject(
        new ErrorUPnPResponseInvalid(`Gateway URL ${url}: ${(e as Error).message}`, {
          data: { method: 'upnp', reason: 'bad URL' },
        }),
      );
    }
    let settled = false;
    let socketLocal: string | undefined;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      f();
    };
    const payload = body != null ? Buffer.from(body, 'utf8') : undefined;
    const req = http.request({
      host: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port !== '' ? Number(target.port) : 80,
      path: `${target.pathname}${target.search}`,
      method,
      headers: {
        ...headers,
        Host: target.host,
        Connection: 'close',
        ...(payload != null ? { 'Content-Length': String(payload.length) } : {}),
      },
      agent: false,
      localAddress,
      maxHeaderSize: 16 * 1024,
    });
    const onAbort = () => {
      finish(() => reject(signal.reason));
      req.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (s) => {
      const note = () => (socketLocal = s.localAddress ?? socketLocal);
      if (s.localAddress != null) note();
      s.once('connect', note);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      finish(() =>
        reject(
          unreachableCodes.has(code)
            ? new ErrorUPnPGatewayUnreachable(`${method} ${url}: ${e.message}`, { cause: e })
            : new ErrorUPnPResponseInvalid(`${method} ${url}: ${e.message}`, {
                cause: e,
                data: { method: 'upnp', reason: code || 'HTTP error' },
              }),
        ),
      );
    });
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      const tooLarge = () =>
        new ErrorUPnPResponseTooLarge(`${method} ${url}: body over ${maxBytes} bytes`, {
          data: { method: 'upnp', reason: 'too large' },
        });
      if (Number.isFinite(declared) && declared > maxBytes) {
        finish(() => reject(tooLarge()));
        req.destroy();
        return;
      }
      const chunks: Array<Buffer> = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          finish(() => reject(tooLarge()));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (e) =>
        finish(() =>
          reject(
            new ErrorUPnPResponseInvalid(`${method} ${url}: response broken off: ${e.message}`, {
              cause: e,
              data: { method: 'upnp', reason: 'broken off' },
            }),
          ),
        ),
      );
      res.on('aborted', () =>
        finish(() =>
          reject(
            new ErrorUPnPResponseInvalid(`${method} ${url}: response broken off`, {
              data: { method: 'upnp', reason: 'broken off' },
            }),
          ),
        ),
      );
      res.on('end', () => {
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
        } catch {
          return finish(() =>
            reject(
              new ErrorUPnPResponseInvalid(`${method} ${url}: body is not UTF-8`, {
                data: { method: 'upnp', reason: 'not UTF-8' },
              }),
            ),
          );
        }
        finish(() =>
          resolve({ status: res.statusCode ?? 0, body: text, localAddress: socketLocal }),
        );
      });
    });
    req.end(payload);
  });

export default nodeHttpRequest;
