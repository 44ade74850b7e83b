import type {
  Address,
  AddressFamily,
  BindDatagramPort,
  Clock,
  Connection,
  DatagramPort,
  NodeId,
  TimerHandle,
} from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type {
  AuditRecord,
  JSONObject,
  JSONValue,
  NodeConnection,
  NodeConnectionManager,
} from '@node-network/transport';
import Logger from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { UnaryHandler, isRelayed, isWebSocket, addresses } from '@node-network/transport';
import DatagramCircuit from './DatagramCircuit.js';
import DatagramRelayedConnection from './DatagramRelayedConnection.js';
import { bindingTokenLength, encodeBinding } from './binding.js';
import * as errors from '../errors.js';
import { nodeIdParam, refusalOf } from '../params.js';

/** Binds a datagram circuit's ports. */
type BindPort = BindDatagramPort;

type DatagramRelayConfig = {
  /** Offer datagram circuits (as a relay) and try them first (as a source). */
  datagram: boolean;
  /** Limit of waiting for a side's binding datagram at the relay, ms. */
  datagramBindTimeoutTime: number;
  /** A datagram circuit nothing crossed for this long is closed, ms (QUIC keepalives cross it). */
  datagramIdleTimeoutTime: number;
};

const datagramRelayConfigDefault: DatagramRelayConfig = {
  datagram: true,
  datagramBindTimeoutTime: 2_000,
  datagramIdleTimeoutTime: 60_000,
};

/** When a side sends its binding again (ms after the first): a lost one costs no more than a gap. */
const bindingRepeats = [100, 300, 700, 1_500];

/** The relay's side of circuit bookkeeping, shared with stream circuits (one set of quotas). */
type CircuitLedger = {
  /** Checks a request (serving, its target, quotas): the target, or a refusal thrown (counted, audited). */
  admit(params: unknown, source: string): { target: NodeId; targetText: string };
  open(source: string, target: string, mode: 'datagram'): { id: number };
  close(id: number, bytes: number, why?: Error): void;
  /** Counts and audits a refusal, and throws it. */
  refuse(e: Error, source: string): never;
  /** Byte and rate quotas of one circuit. */
  limits(): { maxBytes: number; rate: number };
};

type Expectation = { source: string; relay: NodeId; address: Address; expires: number };

function encodeToken(t: Uint8Array): string {
  return Buffer.from(t).toString('base64url');
}

function decodeToken(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const t = new Uint8Array(Buffer.from(text, 'base64url'));
  return t.byteLength === bindingTokenLength && encodeToken(t) === text ? t : undefined;
}

function portOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535 ? v : undefined;
}

/** A UDP path to this peer: not over WebSocket, not through another relay. */
function carriesDatagrams(c: Connection | undefined): boolean {
  return c != null && !isWebSocket(c) && !isRelayed(c);
}

/**
 * Datagram circuits, the bulk path of relaying: A asks relay R
 * (`relayAllocate`) for a circuit to B; R binds two UDP ports (one facing
 * each side), tells B (`relayBind`) its port and token, waits for B's
 * binding datagram (sent from B's QUIC socket: R learns B's address after
 * NAT, and B's NAT opens toward the port), and answers A with its own port
 * and token. A binds the same way and dials B's NodeId at R's port: one
 * QUIC connection end to end, its handshake authenticating B as a direct
 * dial would, while R forwards the packets (`DatagramCircuit`). The relay
 * needs a reachable UDP port for each side; when it has none (a relay
 * behind NAT, WebSocket legs) the stream circuit remains.
 */
class DatagramRelay {
  public readonly config: DatagramRelayConfig;
  protected manager: NodeConnectionManager;
  protected clock: Clock;
  protected bindPort?: BindPort;
  protected randomBytes: (n: number) => Uint8Array;
  protected ledger: CircuitLedger;
  protected auditSink: (r: Omit<AuditRecord, 'time'>) => void;
  protected logger: Logger;
  protected alter?: (data: Uint8Array, from: 'a' | 'b') => Uint8Array | undefined;
  protected portsUnreachable?: (family: AddressFamily) => string | undefined;
  /** Live circuits by their ledger id (`status()` reads their bytes while they run). */
  protected circuits = new Map<number, DatagramCircuit>();
  protected expectations: Array<Expectation> = [];
  protected timers = new Set<TimerHandle>();

  public constructor({
    manager,
    clock,
    bindPort,
    randomBytes,
    ledger,
    config = {},
    audit = () => {},
    alter,
    portsUnreachable,
    logger,
  }: {
    manager: NodeConnectionManager;
    clock: Clock;
    bindPort?: BindPort;
    randomBytes: (n: number) => Uint8Array;
    ledger: CircuitLedger;
    config?: Partial<DatagramRelayConfig>;
    audit?: (r: Omit<AuditRecord, 'time'>) => void;
    alter?: (data: Uint8Array, from: 'a' | 'b') => Uint8Array | undefined;
    /**
     * Why ports we bind in `family` cannot be reached from outside (we are behind NAT), or undefined
     * when they can or we do not know: such a circuit is refused at once (its source falls back to a
     * stream circuit) instead of waiting for a binding that never arrives.
     */
    portsUnreachable?: (family: AddressFamily) => string | undefined;
    logger?: Logger;
  }) {
    this.manager = manager;
    this.clock = clock;
    this.bindPort = bindPort;
    this.randomBytes = randomBytes;
    this.ledger = ledger;
    this.config = { ...datagramRelayConfigDefault, ...config };
    this.auditSink = audit;
    this.alter = alter;
    this.portsUnreachable = portsUnreachable;
    this.logger = logger ?? new Logger(this.constructor.name);
  }

  /** Whether we can serve datagram circuits: enabled and given a way to bind ports. */
  public get serving(): boolean {
    return this.config.datagram && this.bindPort != null;
  }

  /** Datagram circuits through us now. */
  public get size(): number {
    return this.circuits.size;
  }

  /** Bytes a live circuit (by its ledger id) has forwarded so far; undefined once it closed. */
  public circuitBytes(id: number): number | undefined {
    return this.circuits.get(id)?.bytes;
  }

  /**
   * A connects to `target` through `relay`'s datagram circuit. Rejects with
   * `ErrorRelayRefused` (and kinds) when the relay says no or cannot,
   * `ErrorRelayRequestInvalid` for a malformed answer, the dial's typed
   * errors (`ErrorTimeout` when nothing came back through the circuit,
   * `ErrorConnectionPeerRejected` when the far end is not `target`).
   */
  public async dial(
    relay: NodeConnection,
    target: NodeId,
    ctx: Partial<ContextTimedInput> & { timer: number },
  ): Promise<DatagramRelayedConnection> {
    const relayText = identity.encodeNodeId(relay.connection.remoteNodeId);
    const targetText = identity.encodeNodeId(target);
    const transport = this.manager.transport;
    if (!carriesDatagrams(relay.connection) || transport.sendPunch == null) {
      throw new errors.ErrorRelayDatagramUnavailable(
        `No datagram circuit via ${relayText}: ${
          transport.sendPunch == null
            ? 'our transport cannot send bindings'
            : 'we reach it over no UDP path'
        }`,
      );
    }
    const t0 = this.clock.now();
    const left = () => Math.max(1, ctx.timer - (this.clock.now() - t0));
    let answer: JSONObject;
    try {
      answer = await relay.rpc.unary<{ target: string }, JSONObject>(
        'relayAllocate',
        { target: targetText },
        { timer: left(), signal: ctx.signal },
      );
    } catch (e) {
      throw refusalOf(e, relayText, 'refused a datagram circuit');
    }
    const port = portOf(answer.port);
    const token = decodeToken(answer.token);
    if (port == null || token == null) {
      throw new errors.ErrorRelayRequestInvalid(
        `Relay ${relayText} answered relayAllocate without a valid port and token`,
      );
    }
    const at: Address = { ...relay.connection.remoteAddress, port: port as Address['port'] };
    const stopBinding = this.sendBindings(at, encodeBinding(token));
    try {
      const connection = await transport.dial(target, at, { timer: left(), signal: ctx.signal });
      this.audit({
        kind: 'relay',
        nodeId: targetText,
        outcome: 'ok',
        path: 'relayed',
        durationMs: this.clock.now() - t0,
        connectionId: connection.id,
        detail: `connected to ${targetText} through relay ${relayText}'s datagram circuit ${addresses.formatAddress(at)}; end-to-end QUIC verified its NodeId`,
      });
      return this.watch(
        relay.connection.remoteNodeId,
        new DatagramRelayedConnection(connection, relay.connection.remoteNodeId),
      );
    } finally {
      stopBinding();
    }
  }

  /**
   * An inbound connection that came through a circuit we bound for (the
   * relay's port, the source we were told): wrapped as relayed, else undefined.
   */
  public matchInbound(c: Connection): DatagramRelayedConnection | undefined {
    const now = this.clock.now();
    this.expectations = this.expectations.filter((x) => x.expires > now);
    const source = identity.encodeNodeId(c.remoteNodeId);
    const i = this.expectations.findIndex(
      (x) => x.source === source && addresses.addressEquals(x.address, c.remoteAddress),
    );
    if (i < 0) return undefined;
    const [x] = this.expectations.splice(i, 1);
    return this.watch(x.relay, new DatagramRelayedConnection(c, x.relay));
  }

  /**
   * Ties a connection through a datagram circuit to our connection to its
   * relay, as a stream circuit is tied to it: kept from closing idle while
   * the circuit lives, and when it closes (the relay died or stopped; a
   * duplicate that replaced it is followed), the relayed connection closes
   * with `ErrorRelayCircuitBroken` at once, not after QUIC's idle timeout.
   */
  protected watch(relay: NodeId, c: DatagramRelayedConnection): DatagramRelayedConnection {
    this.follow(
      relay,
      () => c.closed,
      (reason) =>
        void c.close(
          new errors.ErrorRelayCircuitBroken(
            `Our connection to relay ${identity.encodeNodeId(relay)} closed${
              reason != null ? `: ${reason.message}` : ''
            }`,
            { cause: reason },
          ),
        ),
    );
    return c;
  }

  /**
   * While `done()` is false: touches our connection to `peer` (it must not
   * close idle) and, when it closes with no replacement in the table, calls
   * `broken` once.
   */
  protected follow(peer: NodeId, done: () => boolean, broken: (reason?: Error) => void): void {
    const every = Math.max(
      1_000,
      Math.min(10_000, this.manager.config.connectionIdleTimeoutTime / 3),
    );
    const check = (reason?: Error) => {
      if (done()) return;
      const nc = this.manager.getConnection(peer);
      if (nc == null || nc.connection.closed) return broken(reason);
      let off = () => {};
      const stopTouching = this.keepTouching(peer, every, done, () => off());
      off = nc.connection.onClose((why) => {
        stopTouching();
        // The table changes after the close (a duplicate's winner goes in): look on a later turn.
        this.clock.setTimer(0, () => check(why));
      });
    };
    check();
  }

  /** Touches `peer` every `every` ms until `done()`; returns a stop (which also calls `off`). */
  protected keepTouching(
    peer: NodeId,
    every: number,
    done: () => boolean,
    off: () => void,
  ): () => void {
    let timer: TimerHandle | undefined;
    const tick = () => {
      this.timers.delete(timer!);
      if (done()) return off();
      this.manager.touch(peer);
      timer = this.clock.setTimer(every, tick);
      this.timers.add(timer);
    };
    tick();
    return () => {
      if (timer != null) {
        timer.cancel();
        this.timers.delete(timer);
      }
      off();
    };
  }

  public handlers(accept: boolean): Record<string, InstanceType<typeof UnaryHandler>> {
    const allocate = (input: JSONObject, meta: Record<string, JSONValue> | undefined) =>
      this.handleAllocate(input, meta);
    const bind = (input: JSONObject, meta: Record<string, JSONValue> | undefined) =>
      this.handleBind(input, meta, accept);
    const timeout = this.config.datagramBindTimeoutTime * 4;
    class AllocateHandler extends UnaryHandler<{}, JSONObject, JSONObject> {
      public timeout = timeout;
      public handle = (
        input: JSONObject,
        _cancel: (reason?: unknown) => void,
        meta: Record<string, JSONValue> | undefined,
      ): Promise<JSONObject> => allocate(input, meta);
    }
    class BindHandler extends UnaryHandler<{}, JSONObject, JSONObject> {
      public timeout = timeout;
      public handle = async (
        input: JSONObject,
        _cancel: (reason?: unknown) => void,
        meta: Record<string, JSONValue> | undefined,
      ): Promise<JSONObject> => bind(input, meta);
    }
    return { relayAllocate: new AllocateHandler({}), relayBind: new BindHandler({}) };
  }

  /** Closes every circuit through us (our node stops) and stops binding. */
  public async stop(): Promise<void> {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.expectations = [];
    await Promise.all(
      [...this.circuits.values()].map((c) =>
        c.close(new errors.ErrorRelayCircuitBroken('The relay stopped')),
      ),
    );
  }

  /** As the relay: A asks for a datagram circuit to `target`. */
  protected async handleAllocate(
    params: JSONObject,
    meta: Record<string, JSONValue> | undefined,
  ): Promise<JSONObject> {
    const sourceText = String(meta?.remoteNodeId);
    const refuse = (e: Error): never => this.ledger.refuse(e, sourceText);
    const { target, targetText } = this.ledger.admit(params, sourceText);
    const toA = this.manager.getConnection(identity.decodeNodeId(sourceText))?.connection;
    const toB = this.manager.getConnection(target);
    if (toB == null) {
      refuse(
        new errors.ErrorRelayTargetUnreachable(`This relay holds no connection to ${targetText}`),
      );
    }
    if (!carriesDatagrams(toA) || !carriesDatagrams(toB!.connection)) {
      refuse(
        new errors.ErrorRelayDatagramUnavailable(
          `No UDP path to ${!carriesDatagrams(toA) ? sourceText : targetText} (WebSocket or relayed)`,
        ),
      );
    }
    for (const family of new Set([toA!.localAddress.family, toB!.connection.localAddress.family])) {
      const why = this.portsUnreachable?.(family);
      if (why != null) {
        refuse(
          new errors.ErrorRelayDatagramUnavailable(
            `This relay's circuit ports cannot be reached over ${family}: ${why}`,
          ),
        );
      }
    }
    const ports: Array<DatagramPort> = [];
    const circuitEntry = this.ledger.open(sourceText, targetText, 'datagram');
    let circuit: DatagramCircuit | undefined;
    try {
      ports.push(await this.bindNear(toA!.localAddress.family));
      ports.push(await this.bindNear(toB!.connection.localAddress.family));
      const tokens = {
        a: this.randomBytes(bindingTokenLength),
        b: this.randomBytes(bindingTokenLength),
      };
      const limits = this.ledger.limits();
      circuit = new DatagramCircuit({
        ports: { a: ports[0], b: ports[1] },
        tokens,
        clock: this.clock,
        limits: { ...limits, idleTimeoutTime: this.config.datagramIdleTimeoutTime },
        alter: this.alter,
      });
      const c = circuit;
      this.circuits.set(circuitEntry.id, c);
      c.onClose((why) => {
        this.circuits.delete(circuitEntry.id);
        this.ledger.close(circuitEntry.id, c.bytes, why);
      });
      await toB!.rpc.unary(
        'relayBind',
        { source: sourceText, port: ports[1].localAddress.port, token: encodeToken(tokens.b) },
        { timer: this.config.datagramBindTimeoutTime },
      );
      await c.whenBound('b', this.config.datagramBindTimeoutTime);
      // The circuit lives as long as our connections to both ends (as a stream circuit does).
      for (const peer of [identity.decodeNodeId(sourceText), target]) {
        this.follow(
          peer,
          () => c.closed,
          (reason) =>
            void c.close(
              new errors.ErrorRelayCircuitBroken(
                `The relay's connection to ${identity.encodeNodeId(peer)} closed${
                  reason != null ? `: ${reason.message}` : ''
                }`,
                { cause: reason },
              ),
            ),
        );
      }
      this.audit({
        kind: 'relay',
        nodeId: sourceText,
        outcome: 'ok',
        detail: `datagram circuit ${circuitEntry.id}: ${sourceText} -> ${targetText} on ports ${ports[0].localAddress.port} / ${ports[1].localAddress.port}`,
      });
      // A that never binds (its dial gave up, it went away) does not hold a circuit of its quota.
      c.whenBound('a', this.config.datagramBindTimeoutTime * 5).catch(
        (e: Error) => void c.close(e),
      );
      return { port: ports[0].localAddress.port, token: encodeToken(tokens.a) };
    } catch (e) {
      if (circuit != null) await circuit.close(e as Error);
      else {
        this.ledger.close(circuitEntry.id, 0, e as Error);
        await Promise.all(ports.map((p) => p.close()));
      }
      const err = e as Error;
      return refuse(
        err instanceof errors.ErrorRelay
          ? err
          : new errors.ErrorRelayTargetUnreachable(
              `${targetText} did not bind to the datagram circuit: ${err.message}`,
              { cause: e },
            ),
      );
    }
  }

  /** As the target: relay R tells us a datagram circuit from `source` waits at its `port`. */
  protected async handleBind(
    params: JSONObject,
    meta: Record<string, JSONValue> | undefined,
    accept: boolean,
  ): Promise<JSONObject> {
    if (!accept || !this.config.datagram) {
      throw new errors.ErrorRelayRefused(
        `This node accepts no ${!accept ? 'relayed connections' : 'datagram circuits'}`,
      );
    }
    const source = nodeIdParam(params, 'source', 'relayBind');
    const port = portOf(params?.port);
    const token = decodeToken(params?.token);
    if (port == null || token == null) {
      throw new errors.ErrorRelayRequestInvalid(
        'relayBind needs a port (1-65535) and a 16-byte token',
      );
    }
    const relay = nodeIdParam(meta, 'remoteNodeId', 'relayBind');
    const toR = this.manager.getConnection(relay)?.connection;
    const transport = this.manager.transport;
    if (!carriesDatagrams(toR) || transport.sendPunch == null) {
      throw new errors.ErrorRelayDatagramUnavailable('We reach this relay over no UDP path');
    }
    const address: Address = { ...toR!.remoteAddress, port: port as Address['port'] };
    this.expectations.push({
      source: identity.encodeNodeId(source),
      relay,
      address,
      expires: this.clock.now() + this.config.datagramBindTimeoutTime * 5,
    });
    await transport.sendPunch(address, encodeBinding(token));
    this.sendBindings(address, encodeBinding(token), false);
    return {};
  }

  /**
   * Sends `binding` to `at` from our QUIC socket (now, unless `now` is false,
   * and at each of `bindingRepeats`); returns a stop.
   */
  protected sendBindings(at: Address, binding: Uint8Array, now = true): () => void {
    const send = () =>
      void this.manager.transport
        .sendPunch?.(at, binding)
        .catch((e: Error) =>
          this.logger.debug(`Binding to ${addresses.formatAddress(at)} not sent: ${e.message}`),
        );
    if (now) send();
    const mine = bindingRepeats.map((ms) => {
      const t = this.clock.setTimer(ms, () => {
        this.timers.delete(t);
        send();
      });
      this.timers.add(t);
      return t;
    });
    return () => {
      for (const t of mine) {
        t.cancel();
        this.timers.delete(t);
      }
    };
  }

  /** A port on the host our transport listens on in `family`. */
  protected bindNear(family: AddressFamily): Promise<DatagramPort> {
    const local = this.manager.transport.localAddresses.find((a) => a.family === family);
    if (local == null || this.bindPort == null) {
      throw new errors.ErrorRelayDatagramUnavailable(
        `No ${family} socket to put a circuit port beside`,
      );
    }
    return this.bindPort({ host: local.host, port: 0, family });
  }

  protected audit(r: Omit<AuditRecord, 'time'>): void {
    this.auditSink(r);
  }
}

export default DatagramRelay;
export { datagramRelayConfigDefault };
export type { DatagramRelayConfig, BindPort, CircuitLedger };
