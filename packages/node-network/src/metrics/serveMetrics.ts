import type Logger from '@matrixai/logger';
import type { LocalHttpServer } from '../http/localHttpServer.js';
import { serveLocalHttp } from '../http/localHttpServer.js';
import { contentType } from './exposition.js';

/**
 * Serves `render()` (Prometheus text) at `GET /metrics` on a local HTTP
 * endpoint; loopback only unless `allowRemote`.
 */
function serveMetrics({
  host,
  port,
  allowRemote,
  render,
  logger,
}: {
  host: string;
  port: number;
  allowRemote?: boolean;
  render: () => Promise<string> | string;
  logger?: Logger;
}): Promise<LocalHttpServer> {
  return serveLocalHttp({
    host,
    port,
    allowRemote,
    logger,
    routes: {
      '/metrics': async () => ({ contentType, body: await render() }),
      '/': () => ({
        contentType: 'text/plain; charset=utf-8',
        body: 'node-network: see /metrics\n',
      }),
    },
  });
}

export { serveMetrics };
