import type { Address, Clock, NodeId, Stream } from '@node-network/network-interface';
import type { MuxConfig, TunnelIdentity } from '@node-network/relay';
import type { ProxyEnv } from './proxy.js';
import WebSocket from 'ws';
import { errors as baseErrors } from '@node-network/network-interface';
import { RelayedConnection, openTunnel } from '@node-network/relay';
import { connectThroughProxy, proxyFor } from './proxy.js';
import { memoryStreamPair, socketAddresses, webSocketStream } from './webSocketStream.js';
import { ErrorHttpRelayConfig, ErrorHttpRelayUnreachable } from './errors.js';

/** The WebSocket path relays serve. */
const relayPath = '/node-network/relay/v1';

/** A byte stream to a relay and the TCP addresses it runs between. */
type RelayStream = { stream: Stream; local: Address; remote: Address };

/**
 * Opens a WebSocket to a relay's endpoint (`ws://host:port` or `wss://`),
 * through an HTTP proxy when one applies (explicit `proxy`, else
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY). Rejects with `ErrorProxyRefused`,
 * `ErrorProxyUnreachable`, `ErrorHttpRelayUnreachable`, `ErrorHttpRelayConfig`
 * or the signal's reason.
 */
async function openWebSocket({
  url,
  clock,
  proxy,
  env,
  timer = 15_000,
  signal,
}: {
  url: string;
  clock: Clock;
  /** An http:// proxy URL, or null for none; default from the environment. */
  proxy?: string | null;
  env?: ProxyEnv;
  timer?: number;
  signal?: AbortSignal;
}): Promise<RelayStream> {
  let target: URL;
  try {
    target = new URL(url);
    if (target.protocol !== 'ws:' && target.protocol !== 'wss:') {
      throw new Error(`a ws:// or wss:// URL, not ${target.protocol}`);
    }
  } catch (e) {
    throw new ErrorHttpRelayConfig(`HTTP relay ${url}: ${(e as Error).message}`, { cause: e });
  }
  const via = proxyFor(target, { explicit: proxy, env });
  const abort = new AbortController();
  const onOuter = () =>
    abort.abort(
      new baseErrors.ErrorCancelled(`Connecting to ${url} was cancelled`, {
        cause: signal?.reason,
      }),
    );
  if (signal?.aborted) onOuter();
  signal?.addEventListener('abort', onOuter, { once: true });
  const deadline = clock.setTimer(timer, () =>
    abort.abort(new baseErrors.ErrorTimeout(`Connecting to ${url} timed out after ${timer} ms`)),
  );
  let ws: WebSocket | undefined;
  try {
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const port = Number(target.port || (target.protocol === 'wss:' ? 443 : 80));
    const tunnelSocket =
      via != null
        ? await connectThroughProxy({ proxy: via, host, port, signal: abort.signal })
        : undefined;
    ws = new WebSocket(new URL(relayPath, target), {
      ...(tunnelSocket != null ? { createConnection: () => tunnelSocket } : {}),
      handshakeTimeout: timer,
      perMessageDeflate: false,
      // Relay certificates are checked end to end by NodeId, not by a web PKI.
      rejectUnauthorized: false,
    });
    const opened = ws;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        opened.terminate();
        reject(abort.signal.reason);
      };
      if (abort.signal.aborted) return onAbort();
      abort.signal.addEventListener('abort', onAbort, { once: true });
      opened.once('open', () => {
        abort.signal.removeEventListener('abort', onAbort);
        resolve();
      });
      opened.once('unexpected-response', (_req, res) => {
        abort.signal.removeEventListener('abort', onAbort);
        reject(
          new ErrorHttpRelayUnreachable(`${url} refused the WebSocket upgrade: ${res.statusCode}`),
        );
      });
      opened.once('error', (e) => {
        abort.signal.removeEventListener('abort', onAbort);
        reject(new ErrorHttpRelayUnreachable(`${url}: ${e.message}`, { cause: e }));
      });
    });
    ws.on('error', () => {}); // later errors end the stream (webSocketStream)
    keepAlive(ws, clock);
    return { stream: webSocketStream(ws), ...socketAddresses(ws) };
  } catch (e) {
    ws?.terminate();
    if (abort.signal.aborted) throw abort.signal.reason;
    throw e;
  } finally {
    deadline.cancel();
    signal?.removeEventListener('abort', onOuter);
  }
}

/**
 * Connects to a relay over `open` (default: a WebSocket, see
 * `openWebSocket`), then runs the end-to-end TLS 1.3 handshake with the
 * node's certificates, checking the relay is `expected`. The result is a
 * `Connection` (`path: 'websocket'`) to the relay itself: RPC, signalling
 * and relay circuits run on it as on QUIC. Rejects with the errors of
 * `open`, `ErrorRelayHandshake` / `ErrorConnectionPeerRejected`,
 * `ErrorTimeout` or `ErrorCancelled`.
 */
async function connectHttpRelay({
  url,
  expected,
  localNodeId,
  tunnelIdentity,
  clock,
  proxy,
  env,
  mux,
  timer = 15_000,
  signal,
  open = openWebSocket,
}: {
  url: string;
  expected: NodeId;
  localNodeId: NodeId;
  tunnelIdentity: TunnelIdentity;
  clock: Clock;
  proxy?: string | null;
  env?: ProxyEnv;
  mux?: Partial<MuxConfig>;
  timer?: number;
  signal?: AbortSignal;
  open?: typeof openWebSocket;
}): Promise<RelayedConnection> {
  const t0 = clock.now();
  const { stream, local, remote } = await open({ url, clock, proxy, env, timer, signal });
  const left = Math.max(1, timer - (clock.now() - t0));
  const abort = new AbortController();
  const onOuter = () => abort.abort(signal?.reason);
  signal?.addEventListener('abort', onOuter, { once: true });
  const deadline = clock.setTimer(left, () =>
    abort.abort(new baseErrors.ErrorTimeout(`Handshake with ${url} timed out after ${timer} ms`)),
  );
  try {
    const { socket } = await openTunnel({
      stream,
      role: 'client',
      tunnelIdentity,
      expected,
      signal: abort.signal,
    });
    return new RelayedConnection({
      socket,
      localNodeId,
      remoteNodeId: expected,
      relay: expected,
      localAddress: local,
      remoteAddress: remote,
      initiator: 'local',
      clock,
      config: mux,
      path: 'websocket',
    });
  } catch (e) {
    stream.cancel(e);
    throw e;
  } finally {
    deadline.cancel();
    signal?.removeEventListener('abort', onOuter);
  }
}

/**
 * WebSocket pings every 15 s keep proxies and NATs from dropping an idle
 * TCP connection; no pong for two intervals terminates it (the tunnel's
 * connection then closes with `ErrorConnectionClosed`).
 */
function keepAlive(ws: WebSocket, clock: Clock, interval = 15_000): void {
  let alive = true;
  ws.on('pong', () => (alive = true));
  const tick = () => {
    if (ws.readyState !== ws.OPEN) return;
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
    clock.setTimer(interval, tick);
  };
  clock.setTimer(interval, tick);
}

export { connectHttpRelay, openWebSocket, keepAlive, relayPath };
export type { RelayStream };

/**
 * An `open` for `connectHttpRelay` that reaches `server` over an in-memory
 * stream pair with `latency` (the simulator's TCP) instead of a WebSocket;
 * `local` and `remote` are the addresses the two ends report.
 */
function memoryOpener({
  clock,
  server,
  local,
  remote,
  latency,
}: {
  clock: Clock;
  server: {
    acceptStream(stream: Stream, addresses: { local: Address; remote: Address }): Promise<unknown>;
  };
  local: Address;
  remote: Address;
  latency?: number;
}): typeof openWebSocket {
  return async () => {
    const [ours, theirs] = memoryStreamPair({ clock, latency });
    void server.acceptStream(theirs, { local: remote, remote: local }).catch(() => {});
    return { stream: ours, local, remote };
  };
}

export { memoryOpener };
