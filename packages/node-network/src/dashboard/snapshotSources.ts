import type { NetworkSnapshot } from './types.js';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { decodeSnapshot, parseSnapshot, snapshotLimits } from './snapshotCodec.js';
import { requestControl } from '../control.js';
import * as errors from '../errors.js';

/**
 * Where `node-network dashboard` takes its snapshots from, each read anew
 * per request: a running agent's control socket, another process's
 * `/snapshot.json` URL, or a file (edit it and the page follows). Every
 * source's answer goes through the snapshot codec; a source that cannot be
 * read is `ErrorSnapshotSource`, a malformed answer
 * `ErrorNetworkSnapshotInvalid`.
 */
type SnapshotSource = () => Promise<NetworkSnapshot>;

function fromFile(file: string): SnapshotSource {
  return async () => {
    let text: string;
    try {
      const st = await fs.promises.stat(file);
      if (!st.isFile()) throw new Error('not a regular file');
      if (st.size > snapshotLimits.bytes) {
        throw new errors.ErrorNetworkSnapshotInvalid(
          `${file} is larger than ${snapshotLimits.bytes} bytes`,
        );
      }
      text = await fs.promises.readFile(file, 'utf8');
    } catch (e) {
      if (e instanceof errors.ErrorNetworkSnapshotInvalid) throw e;
      throw new errors.ErrorSnapshotSource(`Cannot read ${file}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    try {
      return parseSnapshot(text);
    } catch (e) {
      throw new errors.ErrorNetworkSnapshotInvalid(`${file}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  };
}

function fromUrl(url: string, timeoutMs = 5_000): SnapshotSource {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new errors.ErrorNodeNetworkConfig(`${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new errors.ErrorNodeNetworkConfig(`${url}: only http and https snapshot URLs`);
  }
  const get = u.protocol === 'https:' ? https.get : http.get;
  return () =>
    new Promise<NetworkSnapshot>((resolve, reject) => {
      const fail = (message: string, cause?: unknown) =>
        reject(new errors.ErrorSnapshotSource(`${url}: ${message}`, { cause }));
      const req = get(u, { timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return fail(`HTTP ${res.statusCode}`);
        }
        const chunks: Array<Buffer> = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.byteLength;
          if (size > snapshotLimits.bytes) {
            req.destroy();
            fail(`answer larger than ${snapshotLimits.bytes} bytes`);
          } else chunks.push(c);
        });
        res.on('error', (e) => fail(e.message, e));
        res.on('end', () => {
          if (size > snapshotLimits.bytes) return;
          try {
            resolve(parseSnapshot(Buffer.concat(chunks).toString('utf8')));
          } catch (e) {
            reject(e);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => fail(e.message, e));
    });
}

function fromControl(path: string): SnapshotSource {
  return async () => {
    let v: unknown;
    try {
      v = await requestControl(path, 'snapshot');
    } catch (e) {
      throw new errors.ErrorSnapshotSource((e as Error).message, { cause: e });
    }
    return decodeSnapshot(v);
  };
}

export { fromFile, fromUrl, fromControl };
export type { SnapshotSource };
