import type { Clock, NodeId } from '@node-network/network-interface';
import type { NodeNetwork } from 'node-network';
import type { JSONObject } from '@node-network/transport';
import type { Path } from './types.js';
import { setMaxListeners } from 'node:events';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { seededBytes, sha256 } from './utils.js';

/**
 * The work an agent asks of its node, on the node itself (in-process on
 * netsim, inside the agent process in netns). Every step gets what is left
 * of the operation's time as its timer, and one abort signal fires at the
 * deadline on the node's clock: an operation either settles by its deadline
 * or the system under test failed to honour its cancellation context.
 */
type OpDeadline = { clock: Clock; timeoutMs: number };

type ConnectOutcome = { path: Path; connectMs: number; reused: boolean };
type TransferOutcome = {
  path: Path;
  relay?: string;
  sent: number;
  sentSha256: string;
  received: number;
  receivedSha256: string;
};

async function withDeadline<T>(
  { clock, timeoutMs }: OpDeadline,
  f: (ctx: { timer: () => number; signal: AbortSignal }) => Promise<T>,
): Promise<T> {
  const t0 = clock.now();
  const abort = new AbortController();
  // One operation's signal reaches every call it makes (dials, signals, relays, RPC).
  setMaxListeners(64, abort.signal);
  const timer = clock.setTimer(timeoutMs, () =>
    abort.abort(new baseErrors.ErrorTimeout(`Operation timed out after ${timeoutMs} ms`)),
  );
  try {
    return await f({
      timer: () => Math.max(1, timeoutMs - (clock.now() - t0)),
      signal: abort.signal,
    });
  } finally {
    timer.cancel();
  }
}

function idOf(target: string): NodeId {
  return identity.decodeNodeId(target);
}

async function connect(nn: NodeNetwork, target: string, d: OpDeadline): Promise<ConnectOutcome> {
  return withDeadline(d, async ({ timer, signal }) => {
    const r = await nn.connect(target, undefined, { timer: timer(), signal });
    return { path: r.path, connectMs: r.durationMs, reused: r.reused };
  });
}

async function liveConnection(
  nn: NodeNetwork,
  target: string,
  ctx: { timer: () => number; signal: AbortSignal },
) {
  const r = await nn.connect(target, undefined, { timer: ctx.timer(), signal: ctx.signal });
  const nc = nn.connectionManager.getConnection(idOf(target));
  if (nc == null) {
    throw new baseErrors.ErrorConnectionClosed(`The connection to ${target} closed at once`);
  }
  // The facade's path (punched and http-relay are its knowledge, not the connection's).
  return { nc, path: r.path as Path };
}

/** A `chaosEcho` call; `echoed` says whether the same data came back. */
async function echo(
  nn: NodeNetwork,
  target: string,
  data: string,
  d: OpDeadline,
): Promise<{ path: Path; echoed: boolean }> {
  return withDeadline(d, async (ctx) => {
    const { nc, path } = await liveConnection(nn, target, ctx);
    const r = await nc.rpc.unary<{ data: string }, JSONObject>(
      'chaosEcho',
      { data },
      { timer: ctx.timer(), signal: ctx.signal },
    );
    return { path, echoed: r.data === data };
  });
}

/** Sends `bytes` bytes (seeded by `seed`) to the target's `chaosSink` and reads its checksum. */
async function transfer(
  nn: NodeNetwork,
  target: string,
  bytes: number,
  seed: number,
  d: OpDeadline,
  onStarted?: (info: { path: Path; relay?: string }) => void,
): Promise<TransferOutcome> {
  return withDeadline(d, async (ctx) => {
    const { nc, path } = await liveConnection(nn, target, ctx);
    const relayId = (nc.connection as unknown as { relay?: NodeId }).relay;
    const relay = relayId != null ? identity.encodeNodeId(relayId) : undefined;
    const data = seededBytes(seed, bytes);
    const stream = await nc.rpc.raw('chaosSink', {}, { timer: ctx.timer(), signal: ctx.signal });
    // A raw stream's timer covers only its creation: past the deadline, we cancel it ourselves.
    const cancel = () => stream.cancel(ctx.signal.reason);
    if (ctx.signal.aborted) cancel();
    ctx.signal.addEventListener('abort', cancel, { once: true });
    onStarted?.({ path, ...(relay != null ? { relay } : {}) });
    const writer = stream.writable.getWriter();
    const chunk = 16 * 1024;
    for (let sent = 0; sent < bytes; sent += chunk) {
      await writer.write(data.subarray(sent, Math.min(bytes, sent + chunk)));
    }
    await writer.close();
    let text = '';
    for await (const c of stream.readable as unknown as AsyncIterable<Uint8Array>) {
      text += Buffer.from(c).toString();
      if (text.length > 4096) break;
    }
    let got: { bytes?: unknown; sha256?: unknown };
    try {
      got = JSON.parse(text.trim());
    } catch (e) {
      throw new baseErrors.ErrorCodec(`The sink answered ${JSON.stringify(text.slice(0, 80))}`, {
        cause: e,
      });
    }
    return {
      path,
      ...(relay != null ? { relay } : {}),
      sent: bytes,
      sentSha256: sha256(data),
      received: typeof got.bytes === 'number' ? got.bytes : -1,
      receivedSha256: typeof got.sha256 === 'string' ? got.sha256 : '',
    };
  });
}

/** Asks `via` (connecting to it first) which addresses it knows for `target`. */
async function lookup(
  nn: NodeNetwork,
  via: string,
  target: string,
  d: OpDeadline,
): Promise<{ path: Path; addresses: number }> {
  return withDeadline(d, async (ctx) => {
    const { nc, path } = await liveConnection(nn, via, ctx);
    const r = await nc.rpc.unary<{ nodeId: string }, JSONObject>(
      'lookupNode',
      { nodeId: target },
      { timer: ctx.timer(), signal: ctx.signal },
    );
    return { path, addresses: Array.isArray(r.addresses) ? r.addresses.length : 0 };
  });
}

/** Closes our connection to `target`, if we hold one. */
async function disconnect(nn: NodeNetwork, target: string): Promise<{ closed: boolean }> {
  const nc = nn.connectionManager.getConnection(idOf(target));
  if (nc == null) return { closed: false };
  await nc.connection.close();
  return { closed: true };
}

export { connect, echo, transfer, lookup, disconnect, withDeadline };
export type { OpDeadline, ConnectOutcome, TransferOutcome };
