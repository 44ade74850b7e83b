import type { Address, Clock, NodeId } from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { KeyPair } from '@node-network/network-identity';
import type { AuditRecord, NodeConnection, NodeConnectionManager } from '@node-network/transport';
import type { NATClassification } from '@node-network/signalling';
import Logger from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { signal } from '@node-network/signalling';
import { addresses as addressUtils } from '@node-network/transport';

type Candidate = signal.Candidate;
type NATHint = signal.NATHint;

type NodeSignallingConfig = {
  /** Limit of the whole signal exchange (request out, answer back), ms. */
  signalTimeoutTime: number;
  /** How long each side punches and dials after the answer, ms. */
  punchDuration: number;
  /** Time between punch datagrams to each candidate, ms. */
  punchInterval: number;
  /** First hops tried in turn when one has no route to the target. */
  firstHopAttempts: number;
  /** Rate limits on the signals this node forwards or answers. */
  rateLimits: ConstructorParameters<typeof signal.RateLimiter>[0];
};

const nodeSignallingConfigDefault: NodeSignallingConfig = {
  signalTimeoutTime: 8_000,
  punchDuration: 6_000,
  punchInterval: 100,
  firstHopAttempts: 8,
  rateLimits: {},
};

/** A punch datagram: 12 bytes starting with 0 (never a QUIC or netsim packet), then a tag and 8 random bytes. */
function punchPayload(random: Uint8Array): Uint8Array {
  const p = new Uint8Array(12);
  p.set([0x00, 0x50, 0x4e, 0x01]);
  p.set(random.subarray(0, 8), 4);
  return p;
}

function distance(a: NodeId, b: NodeId): bigint {
  let d = 0n;
  for (let i = 0; i < a.length; i++) d = (d << 8n) | BigInt(a[i] ^ b[i]);
  return d;
}

/**
 * Signalling and hole punching for the facade (the I/O around
 * `@node-network/signalling`'s message layer). A node that cannot reach B
 * directly sends a signed signal request to the connected peer closest to
 * B; each hop checks it (codec, signature, network, freshness, replay, hop
 * limit, loops, rate limits) and forwards it greedily toward B (to B itself
 * when connected to it, else to a connected peer strictly closer to B). B
 * answers with its own signed candidates; the first hop adds where it sees
 * A, the last hop where it sees B. Then both sides punch (datagrams from
 * their connection socket to every candidate) and dial each other; the
 * first connection either way wins. Every step is an audit record.
 */
class NodeSignalling {
  public readonly config: NodeSignallingConfig;
  protected keyPair: KeyPair;
  protected network: string;
  protected clock: Clock;
  protected manager: NodeConnectionManager;
  protected candidates: () => Array<Candidate>;
  protected nat: () => { ipv4: NATClassification; ipv6: NATClassification };
  protected randomBytes: (n: number) => Uint8Array;
  protected audit: (r: Omit<AuditRecord, 'time'>) => void;
  protected logger: Logger;
  protected limiter: InstanceType<typeof signal.RateLimiter>;
  protected replay: InstanceType<typeof signal.ReplayGuard>;
  protected punching = new Map<string, Promise<NodeConnection>>();
  /** Live connections that punching made (by connection id). */
  protected punched = new Set<string>();

  public constructor({
    keyPair,
    network,
    clock,
    manager,
    candidates,
    nat,
    randomBytes,
    audit,
    config = {},
    logger,
  }: {
    keyPair: KeyPair;
    network: string;
    clock: Clock;
    manager: NodeConnectionManager;
    candidates: NodeSignalling['candidates'];
    nat: NodeSignalling['nat'];
    randomBytes: NodeSignalling['randomBytes'];
    audit: NodeSignalling['audit'];
    config?: Partial<NodeSignallingConfig>;
    logger?: Logger;
  }) {
    this.keyPair = keyPair;
    this.network = network;
    this.clock = clock;
    this.manager = manager;
    this.candidates = candidates;
    this.nat = nat;
    this.randomBytes = randomBytes;
    this.audit = audit;
    this.config = { ...nodeSignallingConfigDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
    this.limiter = new signal.RateLimiter(this.config.rateLimits);
    this.replay = new signal.ReplayGuard({});
  }

  /** Whether punching made this live connection. */
  public isPunched(connectionId: string): boolean {
    return this.punched.has(connectionId);
  }

  protected get self(): NodeId {
    return this.keyPair.publicKey as NodeId;
  }

  /** Our NAT beliefs as the message carries them. */
  protected natHints(): { ipv4?: NATHint; ipv6?: NATHint } {
    const hint = (c: NATClassification): NATHint => ({
      mapping:
        c.mapping === 'none' || c.mapping === 'endpoint-independent'
          ? 'endpoint-independent'
          : c.mapping,
      allocation: c.allocation === 'preserving' ? 'preserve' : c.allocation,
      filtering: c.filtering,
    });
    const n = this.nat();
    return { ipv4: hint(n.ipv4), ipv6: hint(n.ipv6) };
  }

  /**
   * Connects to `target` by signalling through our connected peers and
   * punching. Rejects with a typed error: `ErrorSignalNoRoute` (no peer to
   * send the signal to), the refusal a hop or the target answered with, or
   * `ErrorTimeout` when no path opened while punching.
   */
  public async connect(
    target: NodeId,
    ctx: Partial<ContextTimedInput> = {},
  ): Promise<{ nc: NodeConnection; via: NodeId; hops: number }> {
    const targetText = identity.encodeNodeId(target);
    const peers = this.manager
      .listConnections()
      .map((nc) => nc.connection.remoteNodeId)
      .filter((id) => !identity.nodeIdEquals(id, target));
    if (peers.length === 0) {
      throw new signal.errors.ErrorSignalNoRoute(
        `No connected peer to signal ${targetText} through`,
      );
    }
    // The first hop: the connected peer closest to the target (progress is checked from there
    // on); when it has no route, the next closest, up to `firstHopAttempts`.
    peers.sort((a, b) => (distance(a, target) < distance(b, target) ? -1 : 1));
    const t0 = this.clock.now();
    let lastError: Error | undefined;
    for (const via of peers.slice(0, this.config.firstHopAttempts)) {
      const left = typeof ctx.timer === 'number' ? ctx.timer - (this.clock.now() - t0) : undefined;
      if (left != null && left <= 0) break;
      try {
        return await this.connectVia(target, via, { timer: left, signal: ctx.signal });
      } catch (e) {
        lastError = e as Error;
        if (!(e instanceof signal.errors.ErrorSignalNoRoute) && !isRemoteNoRoute(e)) throw e;
      }
    }
    throw lastError!;
  }

  protected async connectVia(
    target: NodeId,
    via: NodeId,
    ctx: Partial<ContextTimedInput>,
  ): Promise<{ nc: NodeConnection; via: NodeId; hops: number }> {
    const targetText = identity.encodeNodeId(target);
    const viaText = identity.encodeNodeId(via);
    const request = signal.createSignalRequest({
      keyPair: this.keyPair,
      network: this.network,
      target,
      candidates: this.candidates().slice(0, signal.maxCandidates),
      nat: this.natHints(),
      nonce: this.randomBytes(16),
      time: Math.floor(this.clock.wallTime()),
    });
    const t0 = this.clock.now();
    const timer = Math.min(
      this.config.signalTimeoutTime,
      typeof ctx.timer === 'number' ? ctx.timer : this.config.signalTimeoutTime,
    );
    let answer: signal.SignalAnswer;
    try {
      const nc = this.manager.getConnection(via)!;
      const wire = await nc.rpc.unary<any, any>('signal', signal.encodeSignalRequest(request), {
        timer,
        signal: ctx.signal,
      });
      answer = signal.decodeSignalAnswer(wire);
      signal.verifySignalAnswer(answer, {
        network: this.network,
        now: this.clock.wallTime(),
        request,
      });
    } catch (e) {
      this.audit({
        kind: 'signal',
        nodeId: targetText,
        outcome: 'failed',
        durationMs: this.clock.now() - t0,
        error: { name: (e as Error).name, message: (e as Error).message },
        detail: `signal to ${targetText} via ${viaText} failed`,
      });
      throw e;
    }
    const theirs = [...answer.candidates, ...answer.observed];
    this.audit({
      kind: 'signal',
      nodeId: targetText,
      outcome: 'ok',
      durationMs: this.clock.now() - t0,
      detail: `answered via ${viaText}; their candidates ${describe(theirs)}; their NAT ${describeNat(answer.nat)}; punching in ${answer.punchDelayMs} ms`,
    });
    const remaining =
      typeof ctx.timer === 'number'
        ? Math.max(1, ctx.timer - (this.clock.now() - t0))
        : this.config.punchDuration;
    const nc = await this.punch(target, theirs, {
      timer: Math.min(remaining, this.config.punchDuration),
      signal: ctx.signal,
    });
    return { nc, via, hops: 1 };
  }

  /**
   * The `signal` RPC: `from` handed us `input`. We answer it if we are the
   * target, else forward it one hop toward the target and relay the answer.
   */
  public async handle(
    input: unknown,
    from: { nodeId: NodeId; address: Address },
    ctx: { signal?: AbortSignal } = {},
  ): Promise<object> {
    const fromText = identity.encodeNodeId(from.nodeId);
    let request: signal.SignalRequest;
    try {
      request = signal.decodeSignalRequest(input);
      if (request.hops === 0) {
        if (!identity.nodeIdEquals(request.source, from.nodeId)) {
          throw new signal.errors.ErrorSignalMismatch(
            `A signal with no hops must come from its source, not ${fromText}`,
          );
        }
        // The first hop says where it sees the source.
        request.observed = [{ ...from.address, kind: 'observed' }];
      } else if (!identity.nodeIdEquals(request.path[request.path.length - 1], from.nodeId)) {
        throw new signal.errors.ErrorSignalMismatch(
          `A forwarded signal must come from its last hop, not ${fromText}`,
        );
      }
      signal.verifySignalRequest(request, {
        network: this.network,
        now: this.clock.wallTime(),
        replay: this.replay,
      });
      const limit = this.limiter.take(
        this.clock.now(),
        identity.encodeNodeId(request.source),
        identity.encodeNodeId(request.target),
      );
      if (!limit.ok) {
        throw new signal.errors.ErrorSignalRateLimited(
          `Signal rate limit (${limit.limit}) reached; retry after ${limit.retryAfterMs} ms`,
          { data: { limit: limit.limit, retryAfterMs: limit.retryAfterMs } },
        );
      }
    } catch (e) {
      this.audit({
        kind: 'signal',
        nodeId: fromText,
        outcome: 'failed',
        error: { name: (e as Error).name, message: (e as Error).message },
        detail: `refused a signal from ${fromText}`,
      });
      throw e;
    }
    const sourceText = identity.encodeNodeId(request.source);
    if (identity.nodeIdEquals(request.target, this.self)) {
      const answer = signal.createSignalAnswer({
        keyPair: this.keyPair,
        network: this.network,
        request,
        candidates: this.candidates().slice(0, signal.maxCandidates),
        nat: this.natHints(),
        time: Math.floor(this.clock.wallTime()),
        punchDelayMs: 0,
      });
      const theirs = [...request.candidates, ...request.observed];
      this.audit({
        kind: 'signal',
        nodeId: sourceText,
        outcome: 'ok',
        detail: `signalled by ${sourceText} through ${request.hops} hops (${request.path.map((p) => identity.encodeNodeId(p)).join(' > ') || 'direct'}); their candidates ${describe(theirs)}; their NAT ${describeNat(request.nat)}`,
      });
      // Punch and dial back in the background: the first path either way wins.
      void this.punch(request.source, theirs, { timer: this.config.punchDuration }).catch(() => {});
      return signal.encodeSignalAnswer(answer);
    }
    const route = signal.nextHop({
      self: this.self,
      target: request.target,
      connected: this.manager.listConnections().map((nc) => nc.connection.remoteNodeId),
      path: [request.source, ...request.path],
    });
    if (route.kind === 'none') {
      const e = new signal.errors.ErrorSignalNoRoute(
        `No connected peer is closer to ${identity.encodeNodeId(request.target)} than we are`,
      );
      this.audit({
        kind: 'signal',
        nodeId: sourceText,
        outcome: 'failed',
        error: { name: e.name, message: e.message },
        detail: `could not forward ${sourceText}'s signal`,
      });
      throw e;
    }
    const to = route.kind === 'deliver' ? request.target : route.to;
    const forwarded = { ...request, hops: request.hops + 1, path: [...request.path, this.self] };
    const nc = this.manager.getConnection(to);
    if (nc == null) {
      throw new signal.errors.ErrorSignalNoRoute(
        `The connection to ${identity.encodeNodeId(to)} closed`,
      );
    }
    const timer = Math.max(1_000, this.config.signalTimeoutTime - 500 * (request.hops + 1));
    const wire = await nc.rpc.unary<any, any>('signal', signal.encodeSignalRequest(forwarded), {
      timer,
      signal: ctx.signal,
    });
    const answer = signal.decodeSignalAnswer(wire);
    if (route.kind === 'deliver') {
      // The last hop says where it sees the target.
      answer.observed = [{ ...nc.connection.remoteAddress, kind: 'observed' }];
    }
    this.audit({
      kind: 'signal',
      nodeId: sourceText,
      outcome: 'ok',
      detail: `forwarded ${sourceText}'s signal for ${identity.encodeNodeId(request.target)} to ${identity.encodeNodeId(to)} (hop ${request.hops + 1})`,
    });
    return signal.encodeSignalAnswer(answer);
  }

  /**
   * Punches toward every candidate of `nodeId` (a datagram each
   * `punchInterval`) while dialling them; resolves with the first
   * connection to `nodeId` either way (our dial or theirs).
   */
  protected punch(
    nodeId: NodeId,
    candidates: ReadonlyArray<Candidate>,
    ctx: Partial<ContextTimedInput>,
  ): Promise<NodeConnection> {
    const key = identity.encodeNodeId(nodeId);
    const running = this.punching.get(key);
    if (running != null) return running;
    const p = this.punchOnce(nodeId, candidates, ctx).finally(() => this.punching.delete(key));
    this.punching.set(key, p);
    return p;
  }

  protected punchOnce(
    nodeId: NodeId,
    candidates: ReadonlyArray<Candidate>,
    ctx: Partial<ContextTimedInput>,
  ): Promise<NodeConnection> {
    const transport = this.manager.transport;
    const families = new Set(transport.localAddresses.map((a) => a.family));
    const targets: Array<Address> = [];
    for (const c of candidates) {
      const a = addressUtils.tryParseAddress(addressUtils.formatAddress(c));
      if (a == null || !families.has(a.family) || a.port === 0) continue;
      if (!targets.some((b) => addressUtils.addressEquals(a, b))) targets.push(a);
    }
    const timeout = typeof ctx.timer === 'number' ? ctx.timer : this.config.punchDuration;
    const text = identity.encodeNodeId(nodeId);
    const t0 = this.clock.now();
    return new Promise<NodeConnection>((resolve, reject) => {
      if (targets.length === 0) {
        reject(new baseErrors.ErrorConnectionDial(`${text} gave no candidate of a family we have`));
        return;
      }
      let done = false;
      const abort = new AbortController();
      const payload = punchPayload(this.randomBytes(8));
      let sent = 0;
      let tick: { cancel(): void } | undefined;
      const sendAll = () => {
        if (done) return;
        for (const a of targets) {
          sent++;
          void transport.sendPunch?.(a, payload).catch(() => {});
        }
        if (this.manager.getConnection(nodeId) != null) return finish();
        tick = this.clock.setTimer(this.config.punchInterval, sendAll);
      };
      const deadline = this.clock.setTimer(timeout, () =>
        finish(
          new baseErrors.ErrorTimeout(
            `No path to ${text} opened after ${timeout} ms of punching toward ${targets.map(addressUtils.formatAddress).join(' ')}`,
          ),
        ),
      );
      const unsubscribe = transport.onConnection((c) => {
        if (identity.nodeIdEquals(c.remoteNodeId, nodeId)) {
          // Adopted by the manager in the same turn.
          this.clock.setTimer(0, () => finish());
        }
      });
      const onAbort = () =>
        finish(new baseErrors.ErrorCancelled(`Punching toward ${text} was cancelled`));
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (error?: Error) => {
        if (done) return;
        const nc = this.manager.getConnection(nodeId);
        if (error == null && nc == null) return;
        done = true;
        tick?.cancel();
        deadline.cancel();
        unsubscribe();
        ctx.signal?.removeEventListener('abort', onAbort);
        abort.abort();
        const durationMs = this.clock.now() - t0;
        if (nc != null) {
          this.audit({
            kind: 'punch',
            nodeId: text,
            outcome: 'ok',
            path: 'punched',
            address: addressUtils.formatAddress(nc.connection.remoteAddress),
            connectionId: nc.connection.id,
            durationMs,
            detail: `${nc.connection.initiator === 'local' ? 'our dial' : 'their dial'} got through after ${sent} punch datagrams to ${targets.map(addressUtils.formatAddress).join(' ')}`,
          });
          const id = nc.connection.id;
          this.punched.add(id);
          nc.connection.onClose(() => this.punched.delete(id));
          resolve(nc);
        } else {
          this.audit({
            kind: 'punch',
            nodeId: text,
            outcome: error instanceof baseErrors.ErrorCancelled ? 'cancelled' : 'failed',
            path: 'punched',
            durationMs,
            error: { name: error!.name, message: error!.message },
            detail: `${sent} punch datagrams to ${targets.map(addressUtils.formatAddress).join(' ')}`,
          });
          reject(error);
        }
      };
      sendAll();
      this.manager
        .connect(nodeId, targets, { timer: timeout, signal: abort.signal })
        .then(() => finish())
        .catch(() => {
          // Their dial may still get through; the deadline decides.
        });
    });
  }
}

/** A hop's `ErrorSignalNoRoute`, as it arrives over RPC. */
function isRemoteNoRoute(e: unknown): boolean {
  return /ErrorSignalNoRoute/.test(`${(e as Error)?.message} ${(e as any)?.cause?.name}`);
}

function describe(cs: ReadonlyArray<Candidate>): string {
  return cs.map((c) => `${addressUtils.formatAddress(c)} (${c.kind})`).join(' ') || 'none';
}

function describeNat(n: { ipv4?: NATHint; ipv6?: NATHint }): string {
  return (
    (['ipv4', 'ipv6'] as const)
      .filter((f) => n[f] != null && n[f]!.mapping !== 'unknown')
      .map((f) => `${f} ${n[f]!.mapping}/${n[f]!.allocation}/${n[f]!.filtering}`)
      .join(', ') || 'unknown'
  );
}

export default NodeSignalling;
export { nodeSignallingConfigDefault, punchPayload };
export type { NodeSignallingConfig };
