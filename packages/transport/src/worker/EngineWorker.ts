import type { Address, NodeId } from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type Logger from '@matrixai/logger';
import type { AuditRecord } from '../events.js';
import type { ConnectionMeta, EngineInit, FromEngine, ToEngine, WireError } from './protocol.js';
import { Worker } from 'node:worker_threads';
import { errors as baseErrors } from '@node-network/network-interface';
import * as errors from '../errors.js';
import Outbox from './Outbox.js';
import WorkerStream from './WorkerStream.js';
import WorkerQUICConnection from './WorkerQUICConnection.js';
import { parseFromEngineBatch } from './protocol.js';
import { fromWireError } from './wireErrors.js';

type OkMessage = Extract<FromEngine, { t: 'ok' }>;

type Pending = {
  /** Runs synchronously as the answer is handled, before the next message of its batch. */
  accept: (m: OkMessage) => void;
  reject: (e: Error) => void;
  /** A connection that arrives after the caller gave up is closed. */
  abandoned: boolean;
};

/** What an engine tells its transport. */
type EngineEvents = {
  connection(connection: WorkerQUICConnection): void;
  audit(record: AuditRecord): void;
  /** The worker died without being asked to (the error says how). */
  crash(error: Error): void;
};

/**
 * One worker thread running an engine (`engine.ts`), seen from the main
 * thread: starts it, sends it requests, routes what it sends to connections
 * and streams, and turns its death into `ErrorTransportWorkerCrashed` for
 * everything it held.
 */
class EngineWorker {
  public addresses: ReadonlyArray<Address> = [];
  protected worker: Worker;
  protected logger: Logger;
  protected localNodeId: NodeId;
  protected window: number;
  protected events: EngineEvents;
  protected outbox: Outbox<ToEngine>;
  protected nextReq = 0;
  protected pending = new Map<number, Pending>();
  protected connections = new Map<number, WorkerQUICConnection>();
  protected streams = new Map<number, { stream: WorkerStream; connection: WorkerQUICConnection }>();
  protected stopping = false;
  protected dead = false;
  protected outboxClosed = false;
  protected deathCause?: Error;
  protected readyP: Promise<void>;
  protected settleReady!: (e?: Error) => void;
  protected readySettled = false;
  /** Resolves once the thread has ended. */
  public readonly exited: Promise<void>;

  public constructor({
    url,
    init,
    localNodeId,
    events,
    logger,
  }: {
    url: URL;
    init: EngineInit;
    localNodeId: NodeId;
    events: EngineEvents;
    logger: Logger;
  }) {
    this.logger = logger;
    this.localNodeId = localNodeId;
    this.window = init.streamWindow;
    this.events = events;
    this.readyP = new Promise<void>((resolve, reject) => {
      this.settleReady = (e) => {
        if (this.readySettled) return;
        this.readySettled = true;
        if (e == null) resolve();
        else reject(e);
      };
    });
    this.readyP.catch(() => {});
    this.worker = new Worker(url, { workerData: init });
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.outbox = new Outbox<ToEngine>((batch, transfer) => {
      try {
        this.worker.postMessage(batch, transfer);
      } catch {
        // A buffer that cannot be transferred is copied instead.
        this.worker.postMessage(batch);
      }
    });
    this.worker.on('message', (batch: unknown) => this.receive(batch));
    this.worker.on('messageerror', (e) =>
      this.hostile(
        new errors.ErrorTransportWorkerProtocol('A message from the worker could not be read', {
          cause: e,
        }),
      ),
    );
    this.worker.on('error', (e) => {
      this.deathCause ??= e;
    });
    this.worker.on('exit', (code) =>
      this.die(this.deathCause ?? new Error(`The worker exited with code ${code}`)),
    );
  }

  /** Resolves once the engine has bound its sockets; rejects with the bind error. */
  public ready(): Promise<void> {
    return this.readyP;
  }

  public get alive(): boolean {
    return !this.dead;
  }

  public async dial(
    nodeId: NodeId,
    address: Address,
    timer: number,
    signal: AbortSignal | undefined,
    local?: Address,
  ): Promise<WorkerQUICConnection> {
    return await this.request({ t: 'dial', req: 0, nodeId, address, timer, local }, signal, (m) => {
      if (m.conn == null) {
        throw new errors.ErrorTransportWorkerProtocol('A dial answer carried no connection');
      }
      return this.adopt(m.conn);
    });
  }

  public async sendPunch(address: Address, payload: Uint8Array): Promise<void> {
    await this.request({ t: 'punch', req: 0, address, payload }, undefined, () => undefined);
  }

  public async openStream(c: number, ctx: Partial<ContextTimedInput>): Promise<WorkerStream> {
    const timer = typeof ctx.timer === 'number' ? ctx.timer : undefined;
    return await this.request({ t: 'open', req: 0, c, timer }, ctx.signal, (m) => {
      if (m.s == null) {
        throw new errors.ErrorTransportWorkerProtocol('A stream answer carried no stream');
      }
      const connection = this.connections.get(c);
      if (connection == null || connection.closed) {
        this.outbox.send({ t: 'scancel', s: m.s });
        throw new baseErrors.ErrorConnectionClosed('Connection is closed');
      }
      return this.addStream(m.s, connection, false);
    });
  }

  public async closeConnection(c: number): Promise<void> {
    if (this.dead) return;
    await this.request({ t: 'close', req: 0, c }, undefined, () => undefined);
  }

  /** Closes every connection and ends the thread. */
  public async stop(): Promise<void> {
    if (this.dead) {
      await this.exited;
      return;
    }
    this.stopping = true;
    try {
      await Promise.race([
        this.request({ t: 'stop', req: 0 }, undefined, () => undefined),
        new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
      ]);
    } catch {
      // It is going anyway.
    }
    await this.kill();
  }

  /**
   * Ends the thread: the engine closes its sockets and exits. Only a thread
   * that does not manage that within `graceMs` is terminated (Node 20 can
   * abort the process when a worker is terminated while a UDP datagram
   * arrives, see `socketGuard.ts`).
   */
  public async kill(graceMs = 2_000): Promise<void> {
    if (!this.outboxClosed) {
      this.outbox.send({ t: 'exit' });
      this.outbox.flush();
    } else {
      this.worker.postMessage([{ t: 'exit' }]);
    }
    const t = setTimeout(() => void this.worker.terminate(), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  /** Makes the engine throw an uncaught error (tests of crash recovery). */
  public fail(): void {
    this.outbox.send({ t: 'fail' });
    this.outbox.flush();
  }

  /**
   * Terminates the thread at once. Unsafe while its sockets receive (see
   * `kill`); for a thread that does not answer.
   */
  public async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  /**
   * Sends a request; `onOk` turns the answer into the result synchronously
   * (so a new connection or stream exists before the rest of the answer's
   * batch is handled). A protocol error thrown by `onOk` condemns the worker.
   */
  protected request<T>(
    message: ToEngine & { req: number },
    signal: AbortSignal | undefined,
    onOk: (m: OkMessage) => T,
  ): Promise<T> {
    if (this.dead) return Promise.reject(this.crashError());
    const req = ++this.nextReq;
    return new Promise<T>((resolve, reject) => {
      let onAbort = () => {};
      const entry: Pending = {
        accept: (m) => {
          signal?.removeEventListener('abort', onAbort);
          let v: T;
          try {
            v = onOk(m);
          } catch (e) {
            reject(e);
            if (e instanceof errors.ErrorTransportWorkerProtocol) throw e;
            return;
          }
          resolve(v);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        abandoned: false,
      };
      onAbort = () => {
        // Answer the caller now; the engine cancels, and whatever it made late is closed.
        entry.abandoned = true;
        this.outbox.send({ t: 'cancel', req });
        entry.reject(new baseErrors.ErrorCancelled('Cancelled', { cause: signal?.reason }));
      };
      this.pending.set(req, entry);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.outbox.send({ ...message, req } as ToEngine);
    });
  }

  protected receive(batch: unknown): void {
    if (this.dead) return;
    let messages: Array<FromEngine>;
    try {
      messages = parseFromEngineBatch(batch);
    } catch (e) {
      this.hostile(e as Error);
      return;
    }
    for (const m of messages) {
      try {
        this.dispatch(m);
      } catch (e) {
        this.hostile(
          e instanceof errors.ErrorTransportWorkerProtocol
            ? e
            : new errors.ErrorTransportWorkerProtocol(
                `Handling a ${m.t} message failed: ${(e as Error).message}`,
                { cause: e },
              ),
        );
        return;
      }
    }
  }

  protected dispatch(m: FromEngine): void {
    switch (m.t) {
      case 'ready':
        this.addresses = m.addresses;
        this.settleReady();
        return;
      case 'fatal':
        // Before it is ready: why it could not start (bind); after: what killed it.
        if (this.readySettled) this.deathCause ??= fromWireError(m.error);
        else this.settleReady(fromWireError(m.error, errors.ErrorTransportBind));
        return;
      case 'ok':
      case 'err': {
        const p = this.pending.get(m.req);
        if (p == null) {
          if (m.t === 'ok' && m.conn != null) this.closeLate(m.conn.c);
          return;
        }
        this.pending.delete(m.req);
        if (p.abandoned) {
          if (m.t === 'ok' && m.conn != null) this.closeLate(m.conn.c);
          if (m.t === 'ok' && m.s != null) this.outbox.send({ t: 'scancel', s: m.s });
          return;
        }
        if (m.t === 'ok') p.accept(m);
        else p.reject(fromWireError(m.error));
        return;
      }
      case 'conn': {
        const connection = this.adopt(m.conn);
        this.events.connection(connection);
        return;
      }
      case 'closed': {
        const connection = this.connections.get(m.c);
        if (connection == null) return;
        this.connections.delete(m.c);
        connection.markClosed(closeReason(m.reason));
        return;
      }
      case 'addr':
        this.connections.get(m.c)?.setRemoteAddress(m.address);
        return;
      case 'stream': {
        const connection = this.connections.get(m.c);
        if (connection == null || connection.closed) {
          this.outbox.send({ t: 'scancel', s: m.s });
          return;
        }
        this.addStream(m.s, connection, true);
        return;
      }
      case 'audit':
        this.events.audit(m.record);
        return;
      default:
        // Stream traffic: a stream we already finished may still hear late news.
        this.streams.get(m.s)?.stream.handle(m);
    }
  }

  protected adopt(meta: ConnectionMeta): WorkerQUICConnection {
    if (this.connections.has(meta.c)) {
      throw new errors.ErrorTransportWorkerProtocol(`Connection ${meta.c} announced twice`);
    }
    const connection = new WorkerQUICConnection({
      meta,
      localNodeId: this.localNodeId,
      engine: this,
    });
    this.connections.set(meta.c, connection);
    return connection;
  }

  protected addStream(s: number, connection: WorkerQUICConnection, inbound: boolean): WorkerStream {
    if (this.streams.has(s)) {
      throw new errors.ErrorTransportWorkerProtocol(`Stream ${s} announced twice`);
    }
    const stream = new WorkerStream({
      s,
      link: this.outbox,
      window: this.window,
      onDone: () => {
        this.streams.delete(s);
        connection.removeStream(stream);
      },
    });
    this.streams.set(s, { stream, connection });
    connection.addStream(stream, inbound);
    return stream;
  }

  protected closeLate(c: number): void {
    this.outbox.send({ t: 'close', req: 0, c });
  }

  /** A malformed message: the worker cannot be trusted with its connections any more. */
  protected hostile(e: Error): void {
    this.logger.error(`The transport worker broke the protocol: ${e.message}`);
    this.deathCause = e;
    this.die(e);
    void this.kill();
  }

  protected crashError(): Error {
    return new errors.ErrorTransportWorkerCrashed(
      `The transport worker crashed: ${this.deathCause?.message ?? 'it exited'}`,
      { cause: this.deathCause },
    );
  }

  /** The thread is gone: everything it held fails with a typed error, at once. */
  protected die(cause: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.deathCause ??= cause;
    this.outbox.close();
    this.outboxClosed = true;
    const error = this.stopping
      ? new errors.ErrorTransportNotRunning('The transport stopped')
      : this.crashError();
    this.settleReady(error);
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
    const connections = [...this.connections.values()];
    this.connections.clear();
    this.streams.clear();
    for (const c of connections) c.markClosed(error);
    if (!this.stopping) this.events.crash(error);
  }
}

function closeReason(w: WireError | undefined): Error | undefined {
  return w == null ? undefined : fromWireError(w, baseErrors.ErrorConnectionClosed);
}

export default EngineWorker;
export type { EngineEvents };
