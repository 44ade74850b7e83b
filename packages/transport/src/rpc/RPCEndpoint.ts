import type { Connection, Unsubscribe } from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { JSONObject, JSONValue, RPCStream, ServerManifest } from '@matrixai/rpc';
import { RPCClient, RPCServer } from './matrixaiRpc.js';
import Logger from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { ErrorRPCMethodUnsupported, ErrorRPCRemote } from '../errors.js';
import { isPolykeyPeer } from '../paths.js';
import { polykeyMethods } from './polykeyMethods.js';
import { formatAddress } from '../addresses.js';

/** What every handler learns about the caller, as `meta`. */
type CallerMeta = {
  remoteNodeId: string;
  remoteHost: string;
  remotePort: number;
  localHost: string;
  localPort: number;
  connectionId: string;
  /** `relayed` when the connection runs through a relay (then `remote*` is the relay's address). */
  path: string;
};

/** Errors cross the wire as name, description and message: no stacks, no causes. */
function fromError(e: unknown): JSONValue {
  const err = e instanceof Error ? e : new Error(String(e));
  const description = (err as { description?: unknown }).description;
  return {
    type: 'ErrorRPCRemote',
    message: err.message.slice(0, 1024),
    data: {
      name: err.name.slice(0, 128),
      description: typeof description === 'string' ? description.slice(0, 256) : null,
    },
  };
}

function toError(errorData: JSONValue): Error {
  const d = (errorData ?? {}) as { message?: unknown; data?: { name?: unknown } };
  const name = typeof d.data?.name === 'string' ? d.data.name : 'Error';
  const message = typeof d.message === 'string' ? d.message : 'Remote error';
  return new ErrorRPCRemote(`${name}: ${message}`, { data: { name, message } });
}

/**
 * @matrixai/rpc on `Connection` streams: one RPC server shared by every
 * connection (each stream the peer opens is one call), and an RPC client
 * per connection whose calls open streams. The wire format is @matrixai/rpc's
 * JSON-RPC, as Polykey 1.x agents speak it.
 */
class RPCEndpoint {
  protected server: RPCServer;
  protected logger: Logger;
  protected callTimeoutTime: number;

  public constructor({
    callTimeoutTime = 15_000,
    logger,
  }: {
    callTimeoutTime?: number;
    logger?: Logger;
  } = {}) {
    this.logger = logger ?? new Logger(this.constructor.name);
    this.callTimeoutTime = callTimeoutTime;
    this.server = new RPCServer({
      timeoutTime: callTimeoutTime,
      fromError,
      logger: this.logger.getChild('RPCServer') as any,
    });
  }

  public async start({ manifest }: { manifest: ServerManifest }): Promise<void> {
    await this.server.start({ manifest });
  }

  public async stop(): Promise<void> {
    await this.server.stop({ force: true });
  }

  /** Serves calls arriving on `connection`'s streams. */
  public serve(connection: Connection): Unsubscribe {
    const remoteNodeId = identity.encodeNodeId(connection.remoteNodeId);
    return connection.onStream((stream) => {
      // The remote address may change (migration): read it per call.
      const meta: CallerMeta = {
        remoteNodeId,
        remoteHost: connection.remoteAddress.host,
        remotePort: connection.remoteAddress.port,
        localHost: connection.localAddress.host,
        localPort: connection.localAddress.port,
        connectionId: connection.id,
        path: (connection as { path?: string }).path ?? 'direct',
      };
      const rpcStream: RPCStream<Uint8Array, Uint8Array> = {
        readable: stream.readable as any,
        writable: stream.writable as any,
        cancel: (reason) => stream.cancel(reason),
        meta,
      };
      this.server.handleStream(rpcStream);
    });
  }

  /** An RPC client whose calls go over `connection`. */
  public client(connection: Connection): RPCCaller {
    return new RPCCaller(connection, this.callTimeoutTime, this.logger);
  }
}

/**
 * Calls over one connection. Every call takes a cancellation context and has
 * the endpoint's default timeout. At most `maxConcurrentCalls` calls are in
 * flight per connection; the rest wait their turn (measured: @matrixai/rpc
 * 0.5.1 over @matrixai/quic 2.0.9 fails calls with "WritableStream is
 * closed" once about 50 are started at once on one connection; 16 never did
 * in 400-call runs).
 */
class RPCCaller {
  public static maxConcurrentCalls = 16;
  protected client: RPCClient<{}>;
  public readonly connection: Connection;
  protected inFlight = 0;
  protected queue: Array<() => void> = [];

  public constructor(connection: Connection, timeoutTime: number, logger: Logger) {
    this.connection = connection;
    this.client = new RPCClient({
      manifest: {},
      streamFactory: async (ctx) => {
        const stream = await connection.openStream({ signal: ctx.signal });
        return {
          readable: stream.readable as any,
          writable: stream.writable as any,
          cancel: (reason: unknown) => stream.cancel(reason),
        };
      },
      toError: toError as any,
      timeoutTime,
      logger: logger.getChild(`RPCClient ${formatAddress(connection.remoteAddress)}`) as any,
    });
  }

  public async unary<I extends JSONObject, O extends JSONObject>(
    method: string,
    params: I,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<O> {
    this.assertOpen(method);
    return this.limited(ctx, () => this.client.unaryCaller<I, O>(method, params, ctx as any));
  }

  public async serverStream<I extends JSONObject, O extends JSONObject>(
    method: string,
    params: I,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<ReadableStream<O>> {
    this.assertOpen(method);
    return (await this.client.serverStreamCaller<I, O>(method, params, ctx as any)) as any;
  }

  public async duplex<I extends JSONObject, O extends JSONObject>(
    method: string,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<RPCStream<O, I>> {
    this.assertOpen(method);
    return this.client.duplexStreamCaller<I, O>(method, ctx as any);
  }

  public async raw(
    method: string,
    header: JSONObject,
    ctx?: Partial<ContextTimedInput>,
  ): Promise<
    RPCStream<
      Uint8Array,
      Uint8Array,
      Record<string, JSONValue> & { result: JSONValue; command: string }
    >
  > {
    this.assertOpen(method);
    return this.client.rawStreamCaller(method, header, ctx as any);
  }

  /** Runs `f` when a call slot is free; the slot is held until `f` settles. */
  protected async limited<T>(
    ctx: Partial<ContextTimedInput> | undefined,
    f: () => Promise<T>,
  ): Promise<T> {
    if (this.inFlight >= RPCCaller.maxConcurrentCalls) {
      await new Promise<void>((resolve, reject) => {
        const signal = ctx?.signal;
        const onAbort = () => {
          const i = this.queue.indexOf(go);
          if (i >= 0) this.queue.splice(i, 1);
          reject(
            new baseErrors.ErrorCancelled('Call was cancelled while queued', {
              cause: signal?.reason,
            }),
          );
        };
        const go = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.queue.push(go);
      });
    } else {
      this.inFlight++;
    }
    try {
      return await f();
    } finally {
      const next = this.queue.shift();
      if (next != null) next();
      else this.inFlight--;
    }
  }

  protected assertOpen(method: string): void {
    if (isPolykeyPeer(this.connection) && !polykeyMethods.has(method)) {
      throw new ErrorRPCMethodUnsupported(
        `${identity.encodeNodeId(this.connection.remoteNodeId)} is a Polykey 1.x agent, which has no ${method} method`,
        { data: { method } },
      );
    }
    if (this.connection.closed) {
      throw new baseErrors.ErrorConnectionClosed('Connection is closed');
    }
  }
}

export default RPCEndpoint;
export { RPCCaller, fromError, toError };
export type { CallerMeta };
