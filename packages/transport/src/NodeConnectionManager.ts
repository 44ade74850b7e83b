import type {
  Address,
  Clock,
  Connection,
  ConnectionTransport,
  NodeId,
  TimerHandle,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { ServerManifest } from '@matrixai/rpc';
import type { RPCCaller } from './rpc/RPCEndpoint.js';
import type { ObservedAddress } from './handlers/ObservedAddressHandler.js';
import { errors as baseErrors } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import Logger from '@matrixai/logger';
import { StartStop, ready } from '@matrixai/async-init/StartStop.js';
import RPCEndpoint from './rpc/RPCEndpoint.js';
import { isPolykeyPeer } from './paths.js';
import RealClock from './RealClock.js';
import PingHandler from './handlers/PingHandler.js';
import ObservedAddressHandler from './handlers/ObservedAddressHandler.js';
import * as events from './events.js';
import * as errors from './errors.js';
import { formatAddress, happyEyeballsOrder, toAddress } from './addresses.js';
import { errorSummary } from './utils.js';
import { isRelayed } from './paths.js';

/** A live connection and the RPC client on it. */
type NodeConnection = {
  readonly connection: Connection;
  readonly rpc: RPCCaller;
};

type Entry = NodeConnection & {
  lastActive: number;
  idleTimer?: TimerHandle;
  unserve: () => void;
};

type NodeConnectionManagerConfig = {
  /** Default limit of one `connect`, all addresses included, ms. */
  connectTimeoutTime: number;
  /** Happy eyeballs: wait this long before trying the next address, ms. */
  happyEyeballsDelay: number;
  /** Close a connection no RPC used for this long, ms (0: never). */
  connectionIdleTimeoutTime: number;
  /** Default limit of one RPC call, ms. */
  callTimeoutTime: number;
  /** Inbound duplicates kept open per node for the dialler to choose from. */
  maxSpares: number;
};

const managerConfigDefault: NodeConnectionManagerConfig = {
  connectTimeoutTime: 15_000,
  happyEyeballsDelay: 250,
  connectionIdleTimeoutTime: 120_000,
  callTimeoutTime: 15_000,
  maxSpares: 2,
};

function key(nodeId: NodeId): string {
  return Buffer.from(nodeId).toString('hex');
}

interface NodeConnectionManager extends StartStop {}
/**
 * Keeps at most one live connection per NodeId. Dials a node's addresses in
 * happy-eyeballs order (first success wins, the rest are cancelled),
 * resolves simultaneous opens deterministically (the connection dialled by
 * the node with the lower NodeId survives, on both sides), closes idle
 * connections, serves RPC on every connection, and records every attempt and
 * outcome as an audit event.
 */
@StartStop({
  eventStart: events.EventNodeConnectionManagerStart,
  eventStarted: events.EventNodeConnectionManagerStarted,
  eventStop: events.EventNodeConnectionManagerStop,
  eventStopped: events.EventNodeConnectionManagerStopped,
})
class NodeConnectionManager {
  public readonly transport: ConnectionTransport;
  public readonly config: NodeConnectionManagerConfig;
  protected clock: Clock;
  protected logger: Logger;
  protected rpcEndpoint: RPCEndpoint;
  protected table = new Map<string, Entry>();
  /**
   * Inbound duplicates we keep open for the dialler to choose from (it keeps
   * one of its own concurrent dials and closes the rest): served, not in the
   * table, promoted when the kept connection closes.
   */
  protected spares = new Map<string, Set<Entry>>();
  protected pendingDials = new Map<string, Promise<NodeConnection>>();
  protected unsubscribeInbound?: () => void;

  public constructor({
    transport,
    clock = new RealClock(),
    config = {},
    logger,
  }: {
    transport: ConnectionTransport;
    clock?: Clock;
    config?: Partial<NodeConnectionManagerConfig>;
    logger?: Logger;
  }) {
    this.transport = transport;
    this.clock = clock;
    this.config = { ...managerConfigDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
    this.rpcEndpoint = new RPCEndpoint({
      callTimeoutTime: this.config.callTimeoutTime,
      logger: this.logger.getChild('RPC'),
    });
  }

  /**
   * Sees each inbound transport connection before it is adopted and may
   * return the connection to adopt instead (a relay's datagram circuit wraps
   * the ones that came through it as relayed); undefined keeps it as it is.
   */
  public inboundAdapter?: (c: Connection) => Connection | undefined;

  /** `handlers` are the RPC methods this node serves beyond `ping` and `observedAddress`. */
  public async start({ handlers = {} }: { handlers?: ServerManifest } = {}): Promise<void> {
    await this.rpcEndpoint.start({
      manifest: {
        ping: new PingHandler({}),
        observedAddress: new ObservedAddressHandler({}),
        ...handlers,
      },
    });
    this.unsubscribeInbound = this.transport.onConnection((raw) => {
      // A connection through a relay's datagram circuit arrives like a direct one: its adapter says so.
      const c = this.inboundAdapter?.(raw) ?? raw;
      this.audit({
        kind: 'connection-open',
        direction: 'inbound',
        nodeId: identity.encodeNodeId(c.remoteNodeId),
        address: formatAddress(c.remoteAddress),
        connectionId: c.id,
        path: isRelayed(c) ? 'relayed' : 'direct',
      });
      this.adopt(c);
    });
  }

  public async stop(): Promise<void> {
    this.unsubscribeInbound?.();
    const entries = [...this.table.values(), ...[...this.spares.values()].flatMap((s) => [...s])];
    this.table.clear();
    this.spares.clear();
    // Their idle checks would hold the process (and run against a stopped manager) until they fire.
    for (const e of entries) e.idleTimer?.cancel();
    await Promise.all(entries.map((e) => e.connection.close()));
    await this.rpcEndpoint.stop();
  }

  /**
   * Returns the live connection to `nodeId`, dialling `addresses` if there
   * is none (or, with `overRelayed`, if the live one runs through a relay:
   * a dialled connection replaces it). Concurrent calls for one node share
   * one dial.
   */
  @ready(new errors.ErrorTransportNotRunning())
  public async connect(
    nodeId: NodeId,
    addresses: ReadonlyArray<Address>,
    ctx: Partial<ContextTimedInput> = {},
    { overRelayed = false }: { overRelayed?: boolean } = {},
  ): Promise<NodeConnection> {
    if (identity.nodeIdEquals(nodeId, this.transport.nodeId)) {
      throw new errors.ErrorDialSelf('Cannot connect to our own NodeId');
    }
    const existing = this.getConnection(nodeId);
    // `overRelayed`: a relayed connection does not count (we dial to replace it).
    if (existing != null && !(overRelayed && isRelayed(existing.connection))) return existing;
    const k = key(nodeId) + (existing != null ? '/over-relayed' : '');
    let pending = this.pendingDials.get(k);
    if (pending == null) {
      pending = this.dialAddresses(nodeId, addresses, ctx).finally(() => {
        this.pendingDials.delete(k);
      });
      this.pendingDials.set(k, pending);
    }
    return pending;
  }

  /** The live connection to `nodeId`, if any. */
  public getConnection(nodeId: NodeId): NodeConnection | undefined {
    const e = this.table.get(key(nodeId));
    if (e == null || e.connection.closed) return undefined;
    return { connection: e.connection, rpc: e.rpc };
  }

  public listConnections(): Array<NodeConnection> {
    return [...this.table.values()]
      .filter((e) => !e.connection.closed)
      .map((e) => ({ connection: e.connection, rpc: e.rpc }));
  }

  /**
   * Round trip of one `ping` RPC over the live connection, ms. A Polykey 1.x
   * agent has no ping: it answers `nodesClosestActiveConnectionsGet` for our
   * own NodeId instead (a short stream of its connections), read to its end.
   */
  @ready(new errors.ErrorTransportNotRunning())
  public async ping(nodeId: NodeId, ctx?: Partial<ContextTimedInput>): Promise<number> {
    const nc = this.requireConnection(nodeId);
    const t0 = this.clock.now();
    if (isPolykeyPeer(nc.connection)) {
      const answers = await nc.rpc.serverStream(
        'nodesClosestActiveConnectionsGet',
        { nodeIdEncoded: identity.encodeNodeId(this.transport.nodeId) },
        ctx,
      );
      for await (const _ of answers as unknown as AsyncIterable<unknown>);
    } else {
      await nc.rpc.unary('ping', {}, ctx);
    }
    this.touch(nodeId);
    return this.clock.now() - t0;
  }

  /** Our address as `nodeId` sees it (our reflexive address toward it). */
  @ready(new errors.ErrorTransportNotRunning())
  public async observedAddress(nodeId: NodeId, ctx?: Partial<ContextTimedInput>): Promise<Address> {
    const nc = this.requireConnection(nodeId);
    const r = await nc.rpc.unary<{}, ObservedAddress>('observedAddress', {}, ctx);
    this.touch(nodeId);
    try {
      return toAddress(r.host, r.port);
    } catch (e) {
      throw new errors.ErrorRPCResponseInvalid('observedAddress answered a malformed address', {
        cause: e,
      });
    }
  }

  /** Marks the connection to `nodeId` as used now (defers its idle close). */
  public touch(nodeId: NodeId): void {
    const e = this.table.get(key(nodeId));
    if (e != null) e.lastActive = this.clock.now();
  }

  protected requireConnection(nodeId: NodeId): NodeConnection {
    const nc = this.getConnection(nodeId);
    if (nc == null) {
      throw new baseErrors.ErrorConnectionClosed(
        `No connection to ${identity.encodeNodeId(nodeId)}`,
      );
    }
    return nc;
  }

  protected dialAddresses(
    nodeId: NodeId,
    addresses: ReadonlyArray<Address>,
    ctx: Partial<ContextTimedInput>,
  ): Promise<NodeConnection> {
    const nodeIdText = identity.encodeNodeId(nodeId);
    const families = new Set(this.transport.localAddresses.map((a) => a.family));
    const usable = happyEyeballsOrder(addresses).filter((a) => families.has(a.family));
    if (usable.length === 0) {
      const e =
        addresses.length === 0
          ? new errors.ErrorDialNoAddresses(`No address is known for ${nodeIdText}`)
          : new errors.ErrorTransportFamilyUnavailable(
              `None of ${nodeIdText}'s addresses (${addresses.map(formatAddress).join(', ')}) is of a family we have a socket for`,
            );
      this.audit({
        kind: 'dial-result',
        nodeId: nodeIdText,
        outcome: 'failed',
        error: errorSummary(e),
      });
      return Promise.reject(e);
    }
    const started = this.clock.now();
    const timeout = typeof ctx.timer === 'number' ? ctx.timer : this.config.connectTimeoutTime;
    const abort = new AbortController();
    const onOuterAbort = () =>
      abort.abort(
        new baseErrors.ErrorCancelled(`Connect to ${nodeIdText} was cancelled`, {
          cause: ctx.signal?.reason,
        }),
      );
    if (ctx.signal?.aborted) onOuterAbort();
    ctx.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const deadline = this.clock.setTimer(timeout, () =>
      abort.abort(
        new baseErrors.ErrorTimeout(`Connect to ${nodeIdText} timed out after ${timeout} ms`),
      ),
    );
    return new Promise<NodeConnection>((resolve, reject) => {
      let next = 0;
      let inFlight = 0;
      let done = false;
      let stagger: TimerHandle | undefined;
      const failures: Array<{ address: string; error: Error }> = [];
      const finish = (result: { ok: NodeConnection } | { error: Error }) => {
        done = true;
        stagger?.cancel();
        deadline.cancel();
        ctx.signal?.removeEventListener('abort', onOuterAbort);
        abort.abort(new baseErrors.ErrorCancelled('Another address won'));
        const durationMs = this.clock.now() - started;
        if ('ok' in result) {
          this.audit({
            kind: 'dial-result',
            nodeId: nodeIdText,
            outcome: 'ok',
            path: 'direct',
            address: formatAddress(result.ok.connection.remoteAddress),
            connectionId: result.ok.connection.id,
            durationMs,
          });
          resolve(result.ok);
        } else {
          this.audit({
            kind: 'dial-result',
            nodeId: nodeIdText,
            outcome: outcomeOf(result.error),
            durationMs,
            error: errorSummary(result.error),
            detail: failures.map((f) => `${f.address}: ${f.error.message}`).join('; '),
          });
          reject(result.error);
        }
      };
      const failAll = () => {
        const attempts = failures.map((f) => ({ address: f.address, error: f.error.message }));
        if (abort.signal.aborted) {
          // The timeout or cancellation made here; say what each address did before it.
          const reason = abort.signal.reason as Error & { data?: object };
          reason.data = { ...reason.data, attempts };
          return finish({ error: reason });
        }
        if (failures.length === 1) return finish({ error: failures[0].error });
        finish({
          error: new errors.ErrorDialAllAddressesFailed(
            `All ${failures.length} addresses of ${nodeIdText} failed: ${attempts
              .map((a) => `${a.address}: ${a.error}`)
              .join('; ')}`,
            { cause: failures[0].error, data: { attempts } },
          ),
        });
      };
      const startNext = () => {
        stagger?.cancel();
        stagger = undefined;
        if (done) return;
        if (abort.signal.aborted || next >= usable.length) {
          if (inFlight === 0) failAll();
          return;
        }
        const address = usable[next++];
        const addressText = formatAddress(address);
        const t0 = this.clock.now();
        inFlight++;
        this.audit({
          kind: 'dial-attempt',
          nodeId: nodeIdText,
          address: addressText,
          path: 'direct',
          direction: 'outbound',
        });
        this.transport
          .dial(nodeId, address, {
            timer: Math.max(1, timeout - (this.clock.now() - started)),
            signal: abort.signal,
          })
          .then(
            (connection) => {
              inFlight--;
              this.audit({
                kind: 'dial-address-result',
                nodeId: nodeIdText,
                address: addressText,
                outcome: 'ok',
                durationMs: this.clock.now() - t0,
                connectionId: connection.id,
              });
              if (done) {
                void connection.close(new errors.ErrorConnectionDuplicate('Another address won'));
                return;
              }
              this.audit({
                kind: 'connection-open',
                direction: 'outbound',
                nodeId: nodeIdText,
                address: addressText,
                connectionId: connection.id,
                path: 'direct',
              });
              finish({ ok: this.adopt(connection) });
            },
            (e: Error) => {
              inFlight--;
              this.audit({
                kind: 'dial-address-result',
                nodeId: nodeIdText,
                address: addressText,
                outcome: outcomeOf(e),
                durationMs: this.clock.now() - t0,
                error: errorSummary(e),
              });
              if (done) return;
              failures.push({ address: addressText, error: e });
              startNext();
            },
          );
        if (next < usable.length) {
          stagger = this.clock.setTimer(this.config.happyEyeballsDelay, startNext);
        }
      };
      startNext();
    });
  }

  /**
   * Takes a connection made outside `connect` into the table, as `connect`
   * does with its own dials: one we dialled from a punch socket, or one
   * through a relay (either side).
   */
  @ready(new errors.ErrorTransportNotRunning())
  public adoptDialled(
    connection: Connection,
    path: 'direct' | 'punched' | 'relayed' | 'http-relay',
    direction: 'outbound' | 'inbound' = 'outbound',
  ): NodeConnection {
    this.audit({
      kind: 'connection-open',
      direction,
      nodeId: identity.encodeNodeId(connection.remoteNodeId),
      address: formatAddress(connection.remoteAddress),
      connectionId: connection.id,
      path,
    });
    return this.adopt(connection);
  }

  /**
   * Takes a new verified connection into the table, resolving a duplicate
   * with the same rule on both sides: between connections dialled by
   * different sides, the one dialled by the lower NodeId wins; between two
   * dialled by the same side, the newer wins (the older is likely stale).
   */
  protected adopt(connection: Connection): NodeConnection {
    const k = key(connection.remoteNodeId);
    const existing = this.table.get(k);
    if (existing != null && existing.connection === connection) {
      return existing;
    }
    if (existing != null && !existing.connection.closed) {
      const keepNew = this.prefer(connection, existing.connection);
      const loser = keepNew ? existing.connection : connection;
      const spared = keepNew && this.dialledByPeerTwice(connection, existing.connection);
      this.audit({
        kind: 'connection-duplicate',
        nodeId: identity.encodeNodeId(connection.remoteNodeId),
        connectionId: loser.id,
        detail: `kept ${keepNew ? connection.id : existing.connection.id} (dialled by ${
          (keepNew ? connection : existing.connection).initiator
        } side), ${spared ? `${loser.id} stays open for the dialler to choose` : `closed ${loser.id}`}`,
      });
      if (!keepNew) {
        this.retire(connection);
        return existing;
      }
      if (spared) {
        this.spare(existing);
      } else {
        this.remove(existing);
        this.retire(existing.connection);
      }
    }
    const entry: Entry = {
      connection,
      rpc: this.rpcEndpoint.client(connection),
      lastActive: this.clock.now(),
      unserve: () => {},
    };
    entry.unserve = this.rpcEndpoint.serve(connection);
    connection.onStream(() => {
      entry.lastActive = this.clock.now();
    });
    this.table.set(k, entry);
    connection.onClose((reason) => {
      this.audit({
        kind: 'connection-close',
        nodeId: identity.encodeNodeId(connection.remoteNodeId),
        connectionId: connection.id,
        error: reason != null ? errorSummary(reason) : undefined,
      });
      const spares = this.spares.get(k);
      if (spares?.delete(entry) === true) {
        entry.unserve();
        if (spares.size === 0) this.spares.delete(k);
      } else if (this.table.get(k) === entry) {
        this.remove(entry);
        this.promoteSpare(k);
      }
    });
    this.scheduleIdleCheck(entry);
    return entry;
  }

  /**
   * Both dialled by the peer, neither relayed: the peer dialled several of
   * our addresses at once (happy eyeballs) and keeps whichever it saw first,
   * closing the others; or it redialled after losing the first. Which one it
   * keeps is its choice, so we close neither (a dead one times out).
   */
  protected dialledByPeerTwice(candidate: Connection, existing: Connection): boolean {
    return (
      candidate.initiator === 'remote' &&
      existing.initiator === 'remote' &&
      !isRelayed(candidate) &&
      !isRelayed(existing)
    );
  }

  /** Moves a kept connection out of the table into the spares: still served, not closed. */
  protected spare(entry: Entry): void {
    entry.idleTimer?.cancel();
    const k = key(entry.connection.remoteNodeId);
    if (this.table.get(k) === entry) this.table.delete(k);
    const set = this.spares.get(k) ?? new Set<Entry>();
    set.add(entry);
    this.spares.set(k, set);
    // Bounded: beyond the newest few, the oldest spares close.
    for (const old of [...set].slice(0, Math.max(0, set.size - this.config.maxSpares))) {
      set.delete(old);
      old.unserve();
      void old.connection.close(new errors.ErrorConnectionDuplicate('Duplicate connection closed'));
    }
  }

  /** The kept connection to a node closed: a live spare, if any, takes its place. */
  protected promoteSpare(k: string): void {
    const set = this.spares.get(k);
    if (set == null) return;
    const live = [...set].filter((e) => !e.connection.closed);
    const next = live[live.length - 1];
    if (next == null) return;
    set.delete(next);
    if (set.size === 0) this.spares.delete(k);
    this.table.set(k, next);
    next.lastActive = this.clock.now();
    this.scheduleIdleCheck(next);
    this.audit({
      kind: 'connection-duplicate',
      nodeId: identity.encodeNodeId(next.connection.remoteNodeId),
      connectionId: next.connection.id,
      detail: `the kept connection closed; ${next.connection.id} (dialled by the peer too) takes its place`,
    });
  }

  /**
   * Closes the loser of a duplicate. A relayed loser (a direct or punched path
   * replaced it) gets no new streams but keeps its open ones: it closes once
   * they are done, so an upgrade never cuts a stream.
   */
  protected retire(loser: Connection): void {
    const duplicate = new errors.ErrorConnectionDuplicate('Duplicate connection closed');
    const streams = (loser as { openStreams?: number }).openStreams;
    if (!isRelayed(loser) || streams == null) {
      void loser.close(duplicate);
      return;
    }
    const check = () => {
      if (loser.closed) return;
      if ((loser as unknown as { openStreams: number }).openStreams === 0) {
        this.logger.info(`Closing relayed connection ${loser.id}: a better path replaced it`);
        void loser.close();
      } else {
        this.clock.setTimer(1_000, check);
      }
    };
    check();
  }

  /**
   * Between a relayed and an unrelayed connection the unrelayed wins (the
   * upgrade); otherwise the simultaneous-open rule below.
   */
  protected prefer(candidate: Connection, existing: Connection): boolean {
    if (isRelayed(candidate) !== isRelayed(existing)) return !isRelayed(candidate);
    if (candidate.initiator === existing.initiator) return true;
    const localLower = identity.compareNodeIds(this.transport.nodeId, candidate.remoteNodeId) < 0;
    const winner: 'local' | 'remote' = localLower ? 'local' : 'remote';
    return candidate.initiator === winner;
  }

  protected remove(entry: Entry): void {
    entry.idleTimer?.cancel();
    entry.unserve();
    const k = key(entry.connection.remoteNodeId);
    if (this.table.get(k) === entry) this.table.delete(k);
  }

  protected scheduleIdleCheck(entry: Entry): void {
    const idle = this.config.connectionIdleTimeoutTime;
    if (idle <= 0) return;
    const due = entry.lastActive + idle - this.clock.now();
    entry.idleTimer = this.clock.setTimer(due, () => {
      if (entry.connection.closed) return;
      if (this.clock.now() - entry.lastActive >= idle) {
        this.logger.info(`Closing idle connection ${entry.connection.id}`);
        void entry.connection.close();
      } else {
        this.scheduleIdleCheck(entry);
      }
    });
  }

  protected audit(record: Omit<events.AuditRecord, 'time'>): void {
    this.dispatchEvent(
      new events.EventAudit({ detail: { time: this.clock.wallTime(), ...record } }),
    );
  }
}

function outcomeOf(e: unknown): 'failed' | 'cancelled' | 'timeout' {
  if (e instanceof baseErrors.ErrorTimeout) return 'timeout';
  if (e instanceof baseErrors.ErrorCancelled) return 'cancelled';
  return 'failed';
}

export default NodeConnectionManager;
export type { NodeConnection, NodeConnectionManagerConfig };
export { managerConfigDefault };
