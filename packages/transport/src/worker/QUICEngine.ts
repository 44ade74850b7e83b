import type { Address, NodeId } from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { ConnectionMeta, EngineInit, FromEngine, ToEngine } from './protocol.js';
import type QUICNodeConnection from '../QUICNodeConnection.js';
import Logger, { LogLevel, StreamHandler } from '@matrixai/logger';
import { errors as baseErrors } from '@node-network/network-interface';
import QUICTransport from '../QUICTransport.js';
import * as events from '../events.js';
import Outbox from './Outbox.js';
import StreamPump from './StreamPump.js';
import { lowerThreadPriority } from './threadPriority.js';
import { toWireError } from './wireErrors.js';
import { formatAddress } from '../addresses.js';

/** How long a close waits for QUIC's teardown before answering anyway, ms. */
const closeWaitTime = 2_000;

function withTimeout(p: Promise<unknown> | undefined, ms: number): Promise<unknown> {
  if (p == null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    p.then(
      () => {
        clearTimeout(t);
        resolve(undefined);
      },
      () => {
        clearTimeout(t);
        resolve(undefined);
      },
    );
  });
}

/** `QUICTransport` with its dial-from-a-local-port opened to the engine (punch sockets). */
class EngineQUICTransport extends QUICTransport {
  public dialFromLocal(
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput>,
    local: Address | undefined,
  ): Promise<QUICNodeConnection> {
    return this.dialFrom(nodeId, address, ctx, local);
  }
}

/**
 * The worker thread's side of `WorkerQUICTransport`: an ordinary
 * `QUICTransport` (its own sockets, connections, quiche work and timers all
 * in this thread) driven by the main thread's requests, with every
 * connection, stream and audit record mirrored back. See `protocol.ts`.
 */
class QUICEngine {
  protected init: EngineInit;
  protected post: (batch: Array<FromEngine>, transfer: Array<ArrayBuffer>) => void;
  protected exit: (reason: Error) => void;
  protected transport: EngineQUICTransport;
  protected outbox: Outbox<FromEngine>;
  protected nextConnection = 0;
  protected nextStream = 0;
  protected connections = new Map<number, QUICNodeConnection>();
  protected remoteSeen = new Map<number, string>();
  protected pumps = new Map<number, StreamPump>();
  protected cancels = new Map<number, AbortController>();
  protected migrationCheck?: ReturnType<typeof setInterval>;
  protected logger: Logger;

  public constructor({
    init,
    post,
    exit,
  }: {
    init: EngineInit;
    post: (batch: Array<FromEngine>, transfer: Array<ArrayBuffer>) => void;
    /** Ends the thread at once (sockets closed first), telling the main side `reason`. */
    exit: (reason: Error) => void;
  }) {
    this.init = init;
    this.post = post;
    this.exit = exit;
    this.outbox = new Outbox<FromEngine>(post);
    const logger = new Logger(init.name, init.logLevel as LogLevel, [new StreamHandler()]);
    this.logger = logger;
    this.transport = new EngineQUICTransport({
      keyPair: init.keyPair,
      network: init.network,
      membershipClaim: init.membershipClaim,
      certificateChain: init.certificateChain,
      config: init.config,
      now: () => new Date(Date.now() + init.clockOffset),
      logger,
    });
  }

  public async start(): Promise<void> {
    const priority = lowerThreadPriority(this.init.workerNice);
    if ('tid' in priority) {
      this.logger.debug(`Worker thread ${priority.tid} runs at nice ${priority.nice}`);
    } else if (this.init.workerNice !== 0) {
      this.logger.warn(`Worker thread keeps its priority: ${priority.reason}`);
    }
    try {
      await this.transport.start({ listen: this.init.listen });
    } catch (e) {
      this.post([{ t: 'fatal', error: toWireError(e) }], []);
      return;
    }
    this.transport.addEventListener(events.EventAudit.name, (evt: Event) => {
      this.outbox.send({ t: 'audit', record: (evt as events.EventAudit).detail });
    });
    this.transport.onConnection((connection) => {
      const meta = this.register(connection);
      this.outbox.send({ t: 'conn', conn: meta });
      this.watch(meta.c, connection);
    });
    // Migration is rare; a cheap look once a second keeps the main side's remoteAddress true.
    this.migrationCheck = setInterval(() => this.checkMigrations(), 1_000);
    this.migrationCheck.unref();
    this.post([{ t: 'ready', addresses: [...this.transport.localAddresses] }], []);
  }

  /** One batch from the main thread. */
  public receive(batch: unknown): void {
    if (!Array.isArray(batch)) return;
    for (const m of batch as Array<ToEngine>) {
      try {
        this.dispatch(m);
      } catch (e) {
        if ('req' in m && typeof m.req === 'number' && m.req > 0) {
          this.outbox.send({ t: 'err', req: m.req, error: toWireError(e) });
        }
      }
    }
  }

  protected dispatch(m: ToEngine): void {
    switch (m.t) {
      case 'dial':
        this.answer(m.req, async (signal) => {
          const connection = await this.transport.dialFromLocal(
            m.nodeId as NodeId,
            m.address,
            { timer: m.timer, signal },
            m.local,
          );
          const meta = this.register(connection);
          return { meta, after: () => this.watch(meta.c, connection) };
        });
        return;
      case 'open':
        this.answer(m.req, async (signal) => {
          const connection = this.connections.get(m.c);
          if (connection == null) {
            throw new baseErrors.ErrorConnectionClosed('Connection is closed');
          }
          const stream = await connection.openStream({ timer: m.timer, signal });
          const s = ++this.nextStream;
          return { s, after: () => this.pump(s, stream) };
        });
        return;
      case 'punch':
        this.answer(m.req, async () => {
          await this.transport.sendPunch(m.address, m.payload);
          return {};
        });
        return;
      case 'close':
        this.answer(m.req, async () => {
          // Bounded: QUICNodeConnection.close can wait forever on a QUIC connection the peer
          // closed at the same moment (client.destroy never settles); it is closed either way.
          await withTimeout(this.connections.get(m.c)?.close(), closeWaitTime);
          return {};
        });
        return;
      case 'cancel':
        this.cancels
          .get(m.req)
          ?.abort(new baseErrors.ErrorCancelled('Cancelled by the main thread'));
        return;
      case 'exit':
        this.exit(new Error('The main thread ended this worker'));
        return;
      case 'fail':
        // Tests of crash recovery: an error nobody catches.
        setImmediate(() => {
          throw new Error('Worker failure requested by the main thread');
        });
        return;
      case 'stop':
        this.answer(m.req, async () => {
          await this.stop();
          return {};
        });
        return;
      default:
        this.pumps.get(m.s)?.handle(m);
    }
  }

  /**
   * Runs request `req` and answers it. `after` runs right after the answer
   * is queued, so the main side hears of a connection before its streams.
   */
  protected answer(
    req: number,
    run: (
      signal: AbortSignal,
    ) => Promise<{ meta?: ConnectionMeta; s?: number; after?: () => void }>,
  ): void {
    const abort = new AbortController();
    if (req > 0) this.cancels.set(req, abort);
    run(abort.signal).then(
      ({ meta, s, after }) => {
        this.cancels.delete(req);
        if (req > 0) {
          this.outbox.send({
            t: 'ok',
            req,
            ...(meta != null ? { conn: meta } : {}),
            ...(s != null ? { s } : {}),
          });
        }
        after?.();
      },
      (e) => {
        this.cancels.delete(req);
        if (req > 0) this.outbox.send({ t: 'err', req, error: toWireError(e) });
      },
    );
  }

  protected register(connection: QUICNodeConnection): ConnectionMeta {
    const c = ++this.nextConnection;
    this.connections.set(c, connection);
    this.remoteSeen.set(c, formatAddress(connection.remoteAddress));
    return {
      c,
      remoteNodeId: new Uint8Array(connection.remoteNodeId),
      localAddress: connection.localAddress,
      remoteAddress: connection.remoteAddress,
      initiator: connection.initiator,
      protocol: connection.protocol,
    };
  }

  /** Mirrors the connection's streams and its close to the main side. */
  protected watch(c: number, connection: QUICNodeConnection): void {
    connection.onStream((stream) => {
      const s = ++this.nextStream;
      this.outbox.send({ t: 'stream', c, s });
      this.pump(s, stream);
    });
    connection.onClose((reason) => {
      this.connections.delete(c);
      this.remoteSeen.delete(c);
      this.outbox.send({
        t: 'closed',
        c,
        ...(reason != null ? { reason: toWireError(reason) } : {}),
      });
    });
  }

  protected pump(s: number, stream: import('@node-network/network-interface').Stream): void {
    const pump = new StreamPump({
      s,
      stream,
      link: this.outbox,
      window: this.init.streamWindow,
      onDone: () => this.pumps.delete(s),
    });
    this.pumps.set(s, pump);
  }

  protected checkMigrations(): void {
    for (const [c, connection] of this.connections) {
      const now = formatAddress(connection.remoteAddress);
      if (this.remoteSeen.get(c) !== now) {
        this.remoteSeen.set(c, now);
        this.outbox.send({ t: 'addr', c, address: connection.remoteAddress });
      }
    }
  }

  protected async stop(): Promise<void> {
    if (this.migrationCheck != null) clearInterval(this.migrationCheck);
    for (const p of this.pumps.values()) p.abandon();
    await this.transport.stop();
  }
}

export default QUICEngine;
export { EngineQUICTransport };
