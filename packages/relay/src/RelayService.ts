import type { AddressFamily, Clock, Connection, NodeId } from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type {
  AuditRecord,
  JSONValue,
  NodeConnection,
  ServerManifest,
} from '@node-network/transport';
import type { NodeConnectionManager } from '@node-network/transport';
import type { MuxConfig } from './mux/MuxSession.js';
import type { TunnelIdentity } from './tunnel.js';
import type { RelayQuotas } from './quotas.js';
import type { BindPort, DatagramRelayConfig } from './datagram/DatagramRelay.js';
import type DatagramRelayedConnection from './datagram/DatagramRelayedConnection.js';
import nodeCrypto from 'node:crypto';
import Logger from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { RawHandler, isWebSocket } from '@node-network/transport';
import RelayedConnection from './RelayedConnection.js';
import { openTunnel } from './tunnel.js';
import DatagramRelay, { datagramRelayConfigDefault } from './datagram/DatagramRelay.js';
import { ByteRate, relayQuotasDefault } from './quotas.js';
import * as errors from './errors.js';
import { nodeIdParam, refusalOf } from './params.js';

type RelayConfig = {
  /** Relay for others (quotas apply). */
  serve: boolean;
  /** Accept connections that come to us through a relay. */
  accept: boolean;
  quotas: RelayQuotas;
  /** The end-to-end tunnel's streams, keepalive and idle timeout. */
  mux: Partial<MuxConfig>;
  /** Limit of one circuit's setup (relay request, target's answer, TLS handshake), ms. */
  setupTimeoutTime: number;
} & DatagramRelayConfig;

const relayConfigDefault: RelayConfig = {
  serve: true,
  accept: true,
  quotas: relayQuotasDefault,
  mux: {},
  setupTimeoutTime: 10_000,
  ...datagramRelayConfigDefault,
};

type Circuit = {
  id: number;
  /** `stream`: TLS over two RPC raw streams; `datagram`: QUIC packets forwarded on two UDP ports. */
  mode: 'stream' | 'datagram';
  source: string;
  target: string;
  bytes: number;
  opened: number;
};

/**
 * Every node can relay. As a relay, `relayConnect` (a raw RPC stream from
 * A naming target B) opens `relayAccept` to B over our live connection to
 * it and pipes bytes both ways with back-pressure, within quotas (circuits
 * in all, per source, per target; bytes and rate per circuit). Both ends
 * are peers on authenticated connections of our own network (the QUIC
 * handshake checked their membership), so a relay never joins two networks.
 * As A or B, the stream becomes an end-to-end TLS 1.3 tunnel with the same
 * NodeId certificates as a direct connection; the relay sees ciphertext.
 */
class RelayService {
  public readonly config: RelayConfig;
  protected manager: NodeConnectionManager;
  protected clock: Clock;
  protected tunnelIdentity: TunnelIdentity;
  protected logger: Logger;
  protected auditSink: (r: Omit<AuditRecord, 'time'>) => void;
  protected onInbound: (c: RelayedConnection) => void;
  protected circuits = new Map<number, Circuit>();
  protected nextCircuit = 0;
  protected stats = { relayed: 0, refused: 0, bytes: 0 };
  /** Datagram circuits (the bulk path): `dialDatagram`, `matchInbound`, `relayAllocate` / `relayBind`. */
  public readonly datagram: DatagramRelay;

  public constructor({
    manager,
    clock,
    tunnelIdentity,
    config = {},
    audit = () => {},
    onInbound = () => {},
    bindPort,
    randomBytes = (n) => new Uint8Array(nodeCrypto.randomBytes(n)),
    alterDatagram,
    portsUnreachable,
    logger,
  }: {
    manager: NodeConnectionManager;
    clock: Clock;
    tunnelIdentity: TunnelIdentity;
    config?: Partial<RelayConfig>;
    audit?: (r: Omit<AuditRecord, 'time'>) => void;
    onInbound?: (c: RelayedConnection) => void;
    /** Binds a datagram circuit's ports; without it we serve stream circuits only. */
    bindPort?: BindPort;
    randomBytes?: (n: number) => Uint8Array;
    /** Tests: what a datagram circuit forwards of each datagram (a hostile relay alters or drops). */
    alterDatagram?: (data: Uint8Array, from: 'a' | 'b') => Uint8Array | undefined;
    /** Why our datagram circuit ports are unreachable in a family (behind NAT): see `DatagramRelay`. */
    portsUnreachable?: (family: AddressFamily) => string | undefined;
    logger?: Logger;
  }) {
    this.manager = manager;
    this.clock = clock;
    this.tunnelIdentity = tunnelIdentity;
    this.config = {
      ...relayConfigDefault,
      ...config,
      quotas: { ...relayQuotasDefault, ...config.quotas },
    };
    this.auditSink = audit;
    this.onInbound = onInbound;
    this.logger = logger ?? new Logger(this.constructor.name);
    this.datagram = new DatagramRelay({
      manager,
      clock,
      bindPort,
      randomBytes,
      config: this.config,
      audit: (r) => this.audit(r),
      alter: alterDatagram,
      portsUnreachable,
      logger: this.logger.getChild('DatagramRelay'),
      ledger: {
        admit: (params, source) =>
          this.admit(
            params,
            source,
            'relayAllocate',
            this.datagram.serving
              ? undefined
              : new errors.ErrorRelayDatagramUnavailable('This node serves no datagram circuits'),
          ),
        open: (source, target, mode) => {
          const circuit: Circuit = {
            id: ++this.nextCircuit,
            mode,
            source,
            target,
            bytes: 0,
            opened: this.clock.wallTime(),
          };
          this.circuits.set(circuit.id, circuit);
          this.stats.relayed++;
          return circuit;
        },
        close: (id, bytes, why) => {
          const circuit = this.circuits.get(id);
          if (circuit == null || !this.circuits.delete(id)) return;
          this.stats.bytes += bytes;
          this.audit({
            kind: 'relay',
            nodeId: circuit.source,
            outcome: why == null ? 'ok' : 'failed',
            error: why != null ? { name: why.name, message: why.message } : undefined,
            detail: `datagram circuit ${id} ${circuit.source} -> ${circuit.target} closed after ${bytes} bytes`,
          });
        },
        refuse: (e, source) => this.refuse(e, source, 'datagram'),
        limits: () => ({
          maxBytes: this.config.quotas.maxCircuitBytes,
          rate: this.config.quotas.maxCircuitRate,
        }),
      },
    });
  }

  /**
   * A connects to `target` through `relay`'s datagram circuit (one QUIC
   * connection end to end; see `DatagramRelay`). Rejects with
   * `ErrorRelayDatagramUnavailable` where the relay has none to give.
   */
  public dialDatagram(
    relay: NodeConnection,
    target: NodeId,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<DatagramRelayedConnection> {
    const timer = typeof ctx.timer === 'number' ? ctx.timer : this.config.setupTimeoutTime;
    return this.datagram.dial(relay, target, { signal: ctx.signal, timer });
  }

  /** Closes the datagram circuits through us (stream circuits end with the RPC server). */
  public async stop(): Promise<void> {
    await this.datagram.stop();
  }

  /**
   * The RPC methods to serve: `relayConnect` (as a relay) and `relayAccept`
   * (as a target) of stream circuits; `relayAllocate` and `relayBind` of
   * datagram circuits.
   */
  public handlers(): ServerManifest {
    return {
      relayConnect: rawHandler(this.handleConnect.bind(this)),
      relayAccept: rawHandler(this.handleAccept.bind(this)),
      // Served also when `datagram` is off: they refuse with a typed error (the caller falls back).
      ...this.datagram.handlers(this.config.accept),
    };
  }

  /** Circuits through us now, and totals since start. */
  public status(): { circuits: Array<Circuit>; relayed: number; refused: number; bytes: number } {
    // A datagram circuit counts at the forwarder: read its bytes so far, not the 0 it opened with.
    const circuits = [...this.circuits.values()].map((c) =>
      c.mode === 'datagram'
        ? { ...c, bytes: this.datagram.circuitBytes(c.id) ?? c.bytes }
        : { ...c },
    );
    return { circuits, ...this.stats };
  }

  /**
   * A connects to `target` through `relay` (a live connection): asks it for
   * a circuit, then runs the end-to-end handshake, which proves `target` is
   * at the far end. Rejects with `ErrorRelayRefused` (and its kinds) when the
   * relay says no, `ErrorRelayHandshake` / `ErrorConnectionPeerRejected`
   * when the far end is not who we want, `ErrorTimeout`, `ErrorCancelled`.
   */
  public async dial(
    relay: NodeConnection,
    target: NodeId,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<RelayedConnection> {
    const relayText = identity.encodeNodeId(relay.connection.remoteNodeId);
    const targetText = identity.encodeNodeId(target);
    const timeout = typeof ctx.timer === 'number' ? ctx.timer : this.config.setupTimeoutTime;
    const abort = new AbortController();
    const onOuter = () =>
      abort.abort(
        new baseErrors.ErrorCancelled(`Relayed connect to ${targetText} was cancelled`, {
          cause: ctx.signal?.reason,
        }),
      );
    if (ctx.signal?.aborted) onOuter();
    ctx.signal?.addEventListener('abort', onOuter, { once: true });
    const deadline = this.clock.setTimer(timeout, () =>
      abort.abort(
        new baseErrors.ErrorTimeout(
          `Relayed connect to ${targetText} via ${relayText} timed out after ${timeout} ms`,
        ),
      ),
    );
    const t0 = this.clock.now();
    try {
      const raced = <T>(p: Promise<T>): Promise<T> =>
        new Promise<T>((resolve, reject) => {
          const onAbort = () => reject(abort.signal.reason);
          if (abort.signal.aborted) return onAbort();
          abort.signal.addEventListener('abort', onAbort, { once: true });
          p.then(resolve, reject).finally(() => abort.signal.removeEventListener('abort', onAbort));
        });
      let stream: Awaited<ReturnType<NodeConnection['rpc']['raw']>>;
      try {
        stream = await raced(
          relay.rpc.raw('relayConnect', { target: targetText }, { signal: abort.signal }),
        );
      } catch (e) {
        if (abort.signal.aborted) throw abort.signal.reason;
        throw refusalOf(e, relayText);
      }
      const { socket } = await raced(
        openTunnel({
          stream: { ...stream, cancel: (r) => stream.cancel(r) },
          role: 'client',
          tunnelIdentity: this.tunnelIdentity,
          expected: target,
          signal: abort.signal,
        }),
      );
      const connection = this.watchRelay(
        relay.connection,
        new RelayedConnection({
          socket,
          localNodeId: this.manager.transport.nodeId,
          remoteNodeId: target,
          relay: relay.connection.remoteNodeId,
          localAddress: relay.connection.localAddress,
          remoteAddress: relay.connection.remoteAddress,
          initiator: 'local',
          clock: this.clock,
          config: this.config.mux,
          overHttp:
            isWebSocket(relay.connection) ||
            (stream.meta?.result as { overHttp?: unknown } | null)?.overHttp === true,
        }),
      );
      this.audit({
        kind: 'relay',
        nodeId: targetText,
        outcome: 'ok',
        path: 'relayed',
        durationMs: this.clock.now() - t0,
        connectionId: connection.id,
        detail: `connected to ${targetText} through relay ${relayText}; end-to-end TLS 1.3 verified its NodeId`,
      });
      return connection;
    } catch (e) {
      this.audit({
        kind: 'relay',
        nodeId: targetText,
        outcome: e instanceof baseErrors.ErrorTimeout ? 'timeout' : 'failed',
        durationMs: this.clock.now() - t0,
        error: { name: (e as Error).name, message: (e as Error).message },
        detail: `relayed connect through ${relayText} failed`,
      });
      throw e;
    } finally {
      deadline.cancel();
      ctx.signal?.removeEventListener('abort', onOuter);
    }
  }

  /** As the relay: A asks for a circuit to `target`. */
  protected async handleConnect(
    params: unknown,
    fromA: ReadableStream<Uint8Array>,
    meta: Record<string, JSONValue> | undefined,
    signal?: AbortSignal,
  ): Promise<[JSONValue, ReadableStream<Uint8Array>]> {
    const sourceText = String(meta?.remoteNodeId);
    const refuse = (e: Error): never => this.refuse(e, sourceText, 'stream');
    const { target, targetText } = this.admit(
      params,
      sourceText,
      'relayConnect',
      this.config.serve ? undefined : new errors.ErrorRelayRefused('This node does not relay'),
    );
    const toB = this.manager.getConnection(target);
    const fromConn = this.manager.getConnection(identity.decodeNodeId(sourceText))?.connection;
    if (toB == null) {
      refuse(
        new errors.ErrorRelayTargetUnreachable(`This relay holds no connection to ${targetText}`),
      );
    }
    const circuit: Circuit = {
      id: ++this.nextCircuit,
      mode: 'stream',
      source: sourceText,
      target: targetText,
      bytes: 0,
      opened: this.clock.wallTime(),
    };
    this.circuits.set(circuit.id, circuit);
    let streamB: Awaited<ReturnType<NodeConnection['rpc']['raw']>>;
    try {
      streamB = await toB!.rpc.raw(
        'relayAccept',
        { source: sourceText, overHttp: isWebSocket(fromConn) },
        { timer: this.config.setupTimeoutTime },
      );
    } catch (e) {
      this.circuits.delete(circuit.id);
      return refuse(
        new errors.ErrorRelayTargetUnreachable(
          `${targetText} did not take the circuit: ${(e as Error).message}`,
          { cause: e },
        ),
      );
    }
    this.stats.relayed++;
    this.manager.touch(target);
    this.audit({
      kind: 'relay',
      nodeId: sourceText,
      outcome: 'ok',
      detail: `relaying circuit ${circuit.id}: ${sourceText} -> ${targetText}`,
    });
    let ended = 0;
    const end = (why?: Error) => {
      if (++ended < 2 && why == null) return;
      if (!this.circuits.delete(circuit.id)) return;
      this.audit({
        kind: 'relay',
        nodeId: sourceText,
        outcome: why == null ? 'ok' : 'failed',
        error: why != null ? { name: why.name, message: why.message } : undefined,
        detail: `circuit ${circuit.id} ${sourceText} -> ${targetText} closed after ${circuit.bytes} bytes`,
      });
    };
    // The RPC server stopping (our node stops) cuts the circuit: both pipes end.
    const onAbort = () => streamB.cancel(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const aToB = this.meter(fromA, circuit, 'a-b');
    void aToB.pipeTo(streamB.writable).then(
      () => end(),
      (e) => end(e instanceof Error ? e : new Error(String(e))),
    );
    const bToA = this.meter(streamB.readable, circuit, 'b-a', end);
    return [{ circuit: circuit.id, overHttp: isWebSocket(toB!.connection) }, bToA];
  }

  /** As the target: a relay brings us a circuit from `source`. */
  protected async handleAccept(
    params: unknown,
    fromRelay: ReadableStream<Uint8Array>,
    meta: Record<string, JSONValue> | undefined,
    signal?: AbortSignal,
  ): Promise<[JSONValue, ReadableStream<Uint8Array>]> {
    if (!this.config.accept) {
      throw new errors.ErrorRelayRefused('This node does not take relayed connections');
    }
    const source = nodeIdParam(params, 'source', 'relayAccept');
    const relayText = String(meta?.remoteNodeId);
    const relayNodeId = identity.decodeNodeId(relayText);
    const toRelay = new TransformStream<Uint8Array, Uint8Array>();
    const relayNc = this.manager.getConnection(relayNodeId);
    const t0 = this.clock.now();
    const timer = this.clock.setTimer(this.config.setupTimeoutTime, () =>
      abort.abort(new baseErrors.ErrorTimeout('Relayed handshake timed out')),
    );
    const abort = new AbortController();
    // The RPC server stopping (our node stops) ends the tunnel, set up or not.
    let made: RelayedConnection | undefined;
    const onStop = () => {
      abort.abort(signal?.reason);
      void made?.close(new errors.ErrorRelayCircuitBroken('This node is stopping'));
    };
    if (signal?.aborted) onStop();
    signal?.addEventListener('abort', onStop, { once: true });
    void openTunnel({
      stream: {
        readable: fromRelay,
        writable: toRelay.writable,
        cancel: (r) => {
          void fromRelay.cancel(r).catch(() => {});
        },
      },
      role: 'server',
      tunnelIdentity: this.tunnelIdentity,
      signal: abort.signal,
    }).then(
      ({ socket, peer }) => {
        timer.cancel();
        const sourceText = identity.encodeNodeId(peer.nodeId);
        if (!identity.nodeIdEquals(peer.nodeId, source)) {
          // The relay named one node, the handshake proved another: believe the handshake.
          this.logger.warn(
            `Relay ${relayText} named ${identity.encodeNodeId(source)}, peer is ${sourceText}`,
          );
        }
        const relayed = new RelayedConnection({
          socket,
          localNodeId: this.manager.transport.nodeId,
          remoteNodeId: peer.nodeId,
          relay: relayNodeId,
          localAddress:
            relayNc?.connection.localAddress ?? this.manager.transport.localAddresses[0],
          remoteAddress:
            relayNc?.connection.remoteAddress ?? this.manager.transport.localAddresses[0],
          initiator: 'remote',
          clock: this.clock,
          config: this.config.mux,
          overHttp:
            (relayNc != null && isWebSocket(relayNc.connection)) ||
            (params as { overHttp?: unknown } | undefined)?.overHttp === true,
        });
        const connection = relayNc != null ? this.watchRelay(relayNc.connection, relayed) : relayed;
        made = connection;
        connection.onClose(() => signal?.removeEventListener('abort', onStop));
        this.audit({
          kind: 'relay',
          nodeId: sourceText,
          outcome: 'ok',
          path: 'relayed',
          direction: 'inbound',
          durationMs: this.clock.now() - t0,
          connectionId: connection.id,
          detail: `accepted ${sourceText} through relay ${relayText}; end-to-end TLS 1.3 verified its NodeId`,
        });
        this.onInbound(connection);
      },
      (e: Error) => {
        timer.cancel();
        this.audit({
          kind: 'relay',
          nodeId: identity.encodeNodeId(source),
          outcome: 'failed',
          direction: 'inbound',
          error: { name: e.name, message: e.message },
          detail: `relayed connection from ${identity.encodeNodeId(source)} through ${relayText} failed its handshake`,
        });
      },
    );
    return [{ accepted: true }, toRelay.readable];
  }

  /**
   * One direction of a circuit: counts bytes against the circuit's quota,
   * holds to its rate, and passes each chunk through `relayChunk`.
   */
  protected meter(
    source: ReadableStream<Uint8Array>,
    circuit: Circuit,
    direction: 'a-b' | 'b-a',
    onEnd?: (why?: Error) => void,
  ): ReadableStream<Uint8Array> {
    const q = this.config.quotas;
    const rate = new ByteRate(q.maxCircuitRate, this.clock);
    const reader = source.getReader();
    let done = false;
    const finish = (why?: Error) => {
      if (done) return;
      done = true;
      onEnd?.(why);
    };
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          // Until a chunk goes out (a pull that enqueues nothing is not called again).
          for (;;) {
            let r: Awaited<ReturnType<typeof reader.read>>;
            try {
              r = await reader.read();
            } catch (e) {
              const err = e instanceof Error ? e : new Error(String(e));
              controller.error(err);
              finish(err);
              return;
            }
            if (r.done) {
              controller.close();
              finish();
              return;
            }
            circuit.bytes += r.value.length;
            this.stats.bytes += r.value.length;
            if (circuit.bytes > q.maxCircuitBytes) {
              const e = new errors.ErrorRelayQuotaExceeded(
                `Circuit ${circuit.id} passed its ${q.maxCircuitBytes} byte quota`,
              );
              controller.error(e);
              void reader.cancel(e).catch(() => {});
              finish(e);
              return;
            }
            await rate.take(r.value.length);
            const out = this.relayChunk(r.value, direction);
            if (out != null) {
              controller.enqueue(out);
              return;
            }
          }
        },
        cancel: async (reason) => {
          finish(reason instanceof Error ? reason : undefined);
          await reader.cancel(reason).catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * Checks a circuit request from `sourceText`: `off` (we serve no such
   * circuits), its target, a circuit to itself, the quotas. Refuses (counted,
   * audited, thrown) or returns the target.
   */
  protected admit(
    params: unknown,
    sourceText: string,
    method: string,
    off: Error | undefined,
  ): { target: NodeId; targetText: string } {
    const mode = method === 'relayConnect' ? 'stream' : 'datagram';
    if (off != null) this.refuse(off, sourceText, mode);
    let target: NodeId;
    try {
      target = nodeIdParam(params, 'target', method);
    } catch (e) {
      return this.refuse(e as Error, sourceText, mode);
    }
    const targetText = identity.encodeNodeId(target);
    if (targetText === sourceText) {
      this.refuse(new errors.ErrorRelayRequestInvalid('A circuit to itself'), sourceText, mode);
    }
    const refusal = this.refusal(sourceText, targetText);
    if (refusal != null) this.refuse(refusal, sourceText, mode);
    return { target, targetText };
  }

  /** Counts and audits a refused circuit request, and throws `e` (the caller's typed answer). */
  protected refuse(e: Error, sourceText: string, mode: 'stream' | 'datagram'): never {
    this.stats.refused++;
    this.audit({
      kind: 'relay',
      nodeId: sourceText,
      outcome: 'failed',
      error: { name: e.name, message: e.message },
      detail: `refused a ${mode === 'datagram' ? 'datagram ' : ''}circuit for ${sourceText}: ${e.message}`,
    });
    throw e;
  }

  /** Why a new circuit from `source` to `target` is refused now (a quota is full), or undefined. */
  protected refusal(sourceText: string, targetText: string): Error | undefined {
    const q = this.config.quotas;
    const live = [...this.circuits.values()];
    if (live.length >= q.maxCircuits) {
      return new errors.ErrorRelayRefused(`Relay is full: ${q.maxCircuits} circuits`);
    }
    if (live.filter((c) => c.source === sourceText).length >= q.maxCircuitsPerPeer) {
      return new errors.ErrorRelayRefused(
        `${sourceText} already holds ${q.maxCircuitsPerPeer} circuits through this relay`,
      );
    }
    if (live.filter((c) => c.target === targetText).length >= q.maxCircuitsPerTarget) {
      return new errors.ErrorRelayRefused(
        `${targetText} already has ${q.maxCircuitsPerTarget} circuits through this relay`,
      );
    }
    return undefined;
  }

  /** When our connection to the relay closes, the relayed connection closes saying so. */
  protected watchRelay(toRelay: Connection, relayed: RelayedConnection): RelayedConnection {
    const relayText = identity.encodeNodeId(toRelay.remoteNodeId);
    const off = toRelay.onClose((reason) => {
      void relayed.close(
        new errors.ErrorRelayCircuitBroken(
          `Our connection to relay ${relayText} closed${reason != null ? `: ${reason.message}` : ''}`,
          { cause: reason },
        ),
      );
    });
    relayed.onClose(() => off());
    return relayed;
  }

  /**
   * What the relay forwards of each chunk: an honest relay, the chunk. (A
   * subclass that alters or drops chunks makes a hostile relay for tests;
   * the end-to-end TLS must catch it.)
   */
  protected relayChunk(chunk: Uint8Array, _direction: 'a-b' | 'b-a'): Uint8Array | undefined {
    return chunk;
  }

  protected audit(r: Omit<AuditRecord, 'time'>): void {
    this.auditSink(r);
  }
}

/** A raw RPC handler calling `f` with the header's params, the input, the caller and the stop signal (no timeout: circuits live long). */
function rawHandler(
  f: (
    params: unknown,
    input: ReadableStream<Uint8Array>,
    meta: Record<string, JSONValue> | undefined,
    signal?: AbortSignal,
  ) => Promise<[JSONValue, ReadableStream<Uint8Array>]>,
): InstanceType<typeof RawHandler> {
  class CircuitHandler extends RawHandler {
    public timeout = Infinity;
    public handle = (
      input: [{ params?: unknown }, ReadableStream<Uint8Array>],
      _cancel: (reason?: unknown) => void,
      meta: Record<string, JSONValue> | undefined,
      ctx?: { signal?: AbortSignal },
    ): Promise<any> => f(input[0].params, input[1], meta, ctx?.signal);
  }
  return new CircuitHandler({});
}

export default RelayService;
export { relayConfigDefault };
export type { RelayConfig, Circuit };
