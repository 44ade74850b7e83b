import type {
  Address,
  AddressFamily,
  ConnectionTransport,
  NodeId,
  PunchSockets,
  Unsubscribe,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { KeyPair, MembershipClaim, NetworkId } from '@node-network/network-identity';
import type { ListenAddress, TransportConfig } from '../types.js';
import type { EngineInit } from './protocol.js';
import type WorkerQUICConnection from './WorkerQUICConnection.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errors as baseErrors, PunchSocketSet } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import Logger from '@matrixai/logger';
import { StartStop, ready } from '@matrixai/async-init/StartStop.js';
import UDPDatagramPort from '../UDPDatagramPort.js';
import EngineWorker from './EngineWorker.js';
import * as events from '../events.js';
import * as errors from '../errors.js';
import { transportConfigDefault } from '../config.js';
import { formatAddress } from '../addresses.js';

type WorkerQUICTransportOptions = {
  /** Bytes in flight between the threads per stream and direction. Default 1 MiB. */
  streamWindow: number;
  /** First restart delay after a crash, ms, doubling while crashes repeat (at most 5 s). */
  restartDelay: number;
  /**
   * Nice steps the worker thread runs below the main thread (0-19, Linux; 0
   * leaves it equal). Default 5: when both want a core, the main thread gets it.
   */
  workerNice: number;
};

const workerOptionsDefault: WorkerQUICTransportOptions = {
  streamWindow: 1024 * 1024,
  restartDelay: 100,
  workerNice: 5,
};

/** The worker: its current engine, or a promise of the next one while it restarts. */
type Slot = {
  listen: Array<ListenAddress>;
  engine?: EngineWorker;
  next?: Promise<EngineWorker>;
  startedAt: number;
  restartDelay: number;
};

/**
 * The worker engine's file: `engine.js` beside this module (dist), or the
 * package's built one when this module runs from its TypeScript source.
 */
function defaultEngineUrl(): URL {
  const sibling = new URL('./engine.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  return new URL('../../dist/worker/engine.js', import.meta.url);
}

interface WorkerQUICTransport extends StartStop {}
/**
 * `ConnectionTransport` over QUIC with the QUIC work in a worker thread: the
 * worker runs an ordinary `QUICTransport` (sockets, quiche, TLS, timers) and
 * the main thread sees the same connections and streams through proxies
 * (`WorkerQUICConnection`, `WorkerStream`). Stream data crosses threads in
 * batches, one message per event-loop turn with the buffers transferred, and
 * credit-based flow control both ways.
 *
 * One worker holds the node's socket per address family and every connection
 * (why one: the transport README, "Worker engine"). A worker that dies closes
 * its connections with `ErrorTransportWorkerCrashed`, fails every pending call
 * on them with it, and is restarted on the same ports.
 */
@StartStop({
  eventStart: events.EventWorkerQUICTransportStart,
  eventStarted: events.EventWorkerQUICTransportStarted,
  eventStop: events.EventWorkerQUICTransportStop,
  eventStopped: events.EventWorkerQUICTransportStopped,
})
class WorkerQUICTransport implements ConnectionTransport {
  public readonly nodeId: NodeId;
  public readonly keyPair: KeyPair;
  public readonly network: NetworkId;
  public readonly config: TransportConfig;
  public readonly options: WorkerQUICTransportOptions;
  protected membershipClaim?: MembershipClaim;
  protected certificateChain?: Array<Uint8Array>;
  protected logger: Logger;
  protected now: () => Date;
  protected engineUrl: URL;
  protected slot?: Slot;
  protected homeAddresses: ReadonlyArray<Address> = [];
  protected connectionHandlers = new Set<(c: WorkerQUICConnection) => void>();
  protected stopping = false;

  public constructor({
    keyPair,
    network,
    membershipClaim,
    certificateChain,
    config = {},
    now = () => new Date(),
    logger,
    streamWindow,
    restartDelay,
    workerNice,
    engineUrl = defaultEngineUrl(),
  }: {
    keyPair: KeyPair;
    network: NetworkId;
    /** Required to join a private network. */
    membershipClaim?: MembershipClaim;
    /** DER chain, leaf first; made from `keyPair` at start when absent. */
    certificateChain?: Array<Uint8Array>;
    config?: Partial<TransportConfig>;
    /** Wall clock for certificate validity (the worker follows its offset from the system clock). */
    now?: () => Date;
    logger?: Logger;
    /** The engine's module (a test may run it from source). */
    engineUrl?: URL;
  } & Partial<WorkerQUICTransportOptions>) {
    this.keyPair = keyPair;
    this.nodeId = identity.nodeIdFromPublicKey(keyPair.publicKey);
    this.network = network;
    this.membershipClaim = membershipClaim;
    this.certificateChain = certificateChain;
    this.config = { ...transportConfigDefault, ...config };
    const options = { ...workerOptionsDefault };
    if (streamWindow != null) options.streamWindow = streamWindow;
    if (restartDelay != null) options.restartDelay = restartDelay;
    if (workerNice != null) options.workerNice = workerNice;
    if (!(options.streamWindow >= 1024)) {
      throw new RangeError(`streamWindow must be at least 1024 bytes`);
    }
    if (!(
      Number.isInteger(options.workerNice) &&
      options.workerNice >= 0 &&
      options.workerNice <= 19
    )) {
      throw new RangeError(`workerNice must be an integer from 0 to 19`);
    }
    this.options = options;
    this.now = now;
    this.logger = logger ?? new Logger(this.constructor.name);
    this.engineUrl = engineUrl;
  }

  public async start({ listen }: { listen: Array<ListenAddress> }): Promise<void> {
    this.logger.info(`Starting ${this.constructor.name}`);
    this.stopping = false;
    if (this.certificateChain == null) {
      this.certificateChain = [
        await identity.createCertificate({
          subjectKeyPair: this.keyPair,
          network: this.network,
          membershipClaim: this.membershipClaim,
          now: this.now(),
          durationSeconds: this.config.certificateDuration,
        }),
      ];
    }
    const engine = await this.startSlot(listen);
    // A restarted worker binds the very ports it had.
    this.slot!.listen = engine.addresses.map((a) => ({ host: a.host, port: a.port }));
    this.homeAddresses = engine.addresses;
    this.logger.info(
      `Started ${this.constructor.name} on ${this.localAddresses.map(formatAddress).join(', ')}`,
    );
  }

  public async stop(): Promise<void> {
    this.logger.info(`Stopping ${this.constructor.name}`);
    await this.stopSlot();
    this.connectionHandlers.clear();
    this.logger.info(`Stopped ${this.constructor.name}`);
  }

  public get localAddresses(): ReadonlyArray<Address> {
    return this.homeAddresses;
  }

  public get certificateChainDER(): ReadonlyArray<Uint8Array> {
    return this.certificateChain ?? [];
  }

  public onConnection(handler: (c: WorkerQUICConnection) => void): Unsubscribe {
    this.connectionHandlers.add(handler);
    return () => {
      this.connectionHandlers.delete(handler);
    };
  }

  /**
   * Dials `nodeId` at `address` from the node's socket of its family (in the
   * worker). Rejects as `QUICTransport.dial` does; a worker that dies during
   * the dial makes it reject with `ErrorDialAddressFailed` caused by
   * `ErrorTransportWorkerCrashed`.
   */
  @ready(new errors.ErrorTransportNotRunning())
  public async dial(
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<WorkerQUICConnection> {
    return await this.dialOn(nodeId, address, ctx);
  }

  /** Sends a punch from the node's socket of `address`'s family (in the worker). */
  @ready(new errors.ErrorTransportNotRunning())
  public async sendPunch(address: Address, payload: Uint8Array): Promise<void> {
    if (payload.byteLength === 0 || payload.byteLength > 20) {
      throw new errors.ErrorTransportPunch(
        `A punch payload is 1 to 20 bytes, got ${payload.byteLength}`,
      );
    }
    const engine = await this.engineOf(5_000, undefined);
    try {
      await engine.sendPunch(address, payload);
    } catch (e) {
      if (e instanceof errors.ErrorTransportWorkerCrashed) {
        throw new errors.ErrorTransportPunch(`Punch to ${formatAddress(address)} failed`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  /**
   * Punch sockets live in the main thread (they carry a few datagrams); a
   * dial from one closes it and has the worker dial from a QUIC client
   * socket bound on the same port, as `QUICTransport.openPunchSockets` does.
   */
  @ready(new errors.ErrorTransportNotRunning())
  public async openPunchSockets(family: AddressFamily, count: number): Promise<PunchSockets> {
    const home = this.homeAddresses.find((a) => a.family === family);
    if (home == null) {
      throw new errors.ErrorTransportFamilyUnavailable(
        `No ${family} socket is bound, cannot open punch sockets`,
      );
    }
    const ports: Array<UDPDatagramPort> = [];
    try {
      for (let i = 0; i < count; i++) ports.push(await UDPDatagramPort.bind({ host: home.host }));
    } catch (e) {
      await Promise.all(ports.map((p) => p.close()));
      throw new errors.ErrorTransportBind(
        `Cannot bind ${count} punch sockets on ${home.host}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return new PunchSocketSet({
      ports,
      dial: async (port, nodeId, address, ctx) => {
        const local = port.localAddress;
        await port.close();
        return await this.dialOn(nodeId, address, ctx, local);
      },
    });
  }

  protected async dialOn(
    nodeId: NodeId,
    address: Address,
    ctx: Partial<ContextTimedInput>,
    local?: Address,
  ): Promise<WorkerQUICConnection> {
    const where = `${identity.encodeNodeId(nodeId)} at ${formatAddress(address)}`;
    if (ctx.signal?.aborted) {
      throw new baseErrors.ErrorCancelled(`Dial to ${where} was cancelled`, {
        cause: ctx.signal.reason,
      });
    }
    const timer = typeof ctx.timer === 'number' ? ctx.timer : this.config.connectTimeoutTime;
    const started = Date.now();
    try {
      const engine = await this.engineOf(timer, ctx.signal);
      const remaining = Math.max(1, timer - (Date.now() - started));
      // The engine keeps the deadline; this guard only covers an engine that stops answering.
      return await withDeadline(
        engine.dial(nodeId, address, remaining, ctx.signal, local),
        remaining + 5_000,
        () => new baseErrors.ErrorTimeout(`Dial to ${where}: the worker did not answer`),
      );
    } catch (e) {
      // Cancelled here (not by the engine, whose message says what was cancelled).
      if (e instanceof baseErrors.ErrorCancelled && e.message === 'Cancelled') {
        throw new baseErrors.ErrorCancelled(`Dial to ${where} was cancelled`, { cause: e });
      }
      if (e instanceof errors.ErrorTransportWorkerCrashed) {
        throw new errors.ErrorDialAddressFailed(`Dial to ${where} failed: ${e.message}`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  /** The running engine, waiting (bounded) while it restarts. */
  protected async engineOf(timer: number, signal: AbortSignal | undefined): Promise<EngineWorker> {
    const slot = this.slot;
    if (slot == null) throw new errors.ErrorTransportNotRunning();
    if (slot.engine != null && slot.engine.alive) return slot.engine;
    if (slot.next == null) throw new errors.ErrorTransportNotRunning();
    // Restarting: the next engine, once it has bound its sockets.
    return await withDeadline(
      slot.next,
      timer,
      () => new baseErrors.ErrorTimeout('The transport worker did not restart in time'),
      signal,
    );
  }

  protected async startSlot(listen: Array<ListenAddress>): Promise<EngineWorker> {
    const slot: Slot = {
      listen,
      startedAt: Date.now(),
      restartDelay: this.options.restartDelay,
    };
    this.slot = slot;
    // An engine becomes the slot's only once ready: until then its failure is the start's.
    const engine = this.spawn(slot);
    try {
      await engine.ready();
    } catch (e) {
      this.slot = undefined;
      await engine.stop();
      throw e;
    }
    slot.engine = engine;
    return engine;
  }

  protected spawn(slot: Slot): EngineWorker {
    const init: EngineInit = {
      keyPair: { publicKey: this.keyPair.publicKey, privateKey: this.keyPair.privateKey },
      network: this.network,
      membershipClaim: this.membershipClaim,
      certificateChain: this.certificateChain ?? [],
      config: this.config,
      listen: slot.listen,
      streamWindow: this.options.streamWindow,
      workerNice: this.options.workerNice,
      clockOffset: this.now().getTime() - Date.now(),
      logLevel: this.logger.getEffectiveLevel(),
      name: `${this.logger.key}.worker`,
    };
    const engine: EngineWorker = new EngineWorker({
      url: this.engineUrl,
      init,
      localNodeId: this.nodeId,
      logger: this.logger,
      events: {
        connection: (c) => {
          for (const h of this.connectionHandlers) h(c);
        },
        audit: (record) => {
          this.dispatchEvent(new events.EventAudit({ detail: record }));
        },
        crash: (error) => this.onCrash(slot, engine, error),
      },
    });
    return engine;
  }

  /** A worker died: its connections already closed with the typed error; start another. */
  protected onCrash(slot: Slot, engine: EngineWorker, error: Error): void {
    if (slot.engine !== engine) return;
    slot.engine = undefined;
    const restarting = !this.stopping;
    this.logger.error(
      `Transport worker crashed (${error.message})${restarting ? '; restarting it' : ''}`,
    );
    this.dispatchEvent(
      new events.EventWorkerQUICTransportCrash({
        detail: { error, restarting },
      }),
    );
    if (!restarting) return;
    // Crashes in quick succession back off; a worker that lived a while restarts at once.
    if (Date.now() - slot.startedAt > 10_000) slot.restartDelay = this.options.restartDelay;
    slot.next = this.restart(slot, engine);
    slot.next.catch(() => {});
  }

  protected async restart(slot: Slot, dead: EngineWorker): Promise<EngineWorker> {
    // Its ports are free once its thread has ended.
    await Promise.race([dead.exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
    await dead.kill().catch(() => {});
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, slot.restartDelay));
      slot.restartDelay = Math.min(5_000, slot.restartDelay * 2);
      if (this.stopping) throw new errors.ErrorTransportNotRunning();
      slot.startedAt = Date.now();
      const engine = this.spawn(slot);
      try {
        await engine.ready();
      } catch (e) {
        this.logger.error(`Transport worker could not restart: ${(e as Error).message}`);
        await engine.stop().catch(() => {});
        if (this.stopping) throw e;
        continue;
      }
      if (this.stopping) {
        await engine.stop();
        throw new errors.ErrorTransportNotRunning();
      }
      slot.engine = engine;
      slot.next = undefined;
      this.logger.info(
        `Transport worker restarted on ${engine.addresses.map(formatAddress).join(', ')}`,
      );
      return engine;
    }
  }

  protected async stopSlot(): Promise<void> {
    this.stopping = true;
    const slot = this.slot;
    this.slot = undefined;
    this.homeAddresses = [];
    if (slot == null) return;
    const engine = slot.engine ?? (await slot.next?.catch(() => undefined));
    slot.engine = undefined;
    await engine?.stop();
  }
}

/** `p`, or `onTimeout()` after `ms`, or ErrorCancelled when `signal` aborts. */
function withDeadline<T>(
  p: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      finish(() => reject(new baseErrors.ErrorCancelled('Cancelled', { cause: signal?.reason })));
    const t = setTimeout(() => finish(() => reject(onTimeout())), Math.max(1, ms));
    const finish = (f: () => void) => {
      clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
      f();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}

export default WorkerQUICTransport;
export { workerOptionsDefault };
export type { WorkerQUICTransportOptions };
