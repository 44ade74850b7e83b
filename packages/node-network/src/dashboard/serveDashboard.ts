import type Logger from '@matrixai/logger';
import type { LocalHttpServer } from '../http/localHttpServer.js';
import type { NetworkSnapshot } from './types.js';
import { serveLocalHttp } from '../http/localHttpServer.js';
import { decodeSnapshot } from './snapshotCodec.js';
import { dashboardPage, pageContentSecurityPolicy } from './page.js';

/**
 * Serves the dashboard: the page at `/` and the current snapshot at
 * `/snapshot.json` (each request asks `snapshot()` anew, and checks what it
 * got: a source that fails or gives a malformed snapshot is a 502 the page
 * shows). Loopback only unless `allowRemote`; `stop()` closes it.
 */
async function serveDashboard({
  host = '127.0.0.1',
  port = 8123,
  allowRemote,
  snapshot,
  logger,
}: {
  host?: string;
  port?: number;
  allowRemote?: boolean;
  snapshot: () => Promise<NetworkSnapshot> | NetworkSnapshot;
  logger?: Logger;
}): Promise<LocalHttpServer> {
  const page = dashboardPage();
  const html = () => ({
    contentType: 'text/html; charset=utf-8',
    body: page,
    headers: { 'content-security-policy': pageContentSecurityPolicy },
  });
  return serveLocalHttp({
    host,
    port,
    allowRemote,
    logger,
    routes: {
      '/': html,
      '/index.html': html,
      '/snapshot.json': async () => ({
        contentType: 'application/json; charset=utf-8',
        body: JSON.stringify(decodeSnapshot(await snapshot())),
      }),
    },
  });
}

export { serveDashboard };
