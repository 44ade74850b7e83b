import type { Address, Clock, NodeId } from '@node-network/network-interface';
import type { ContextTimedInput } from '@matrixai/contexts';
import type { KeyPair } from '@node-network/network-identity';
import type { AuditRecord, NodeConnection, NodeConnectionManager } from '@node-network/transport';
import type { NATClassification } from '@node-network/signalling';
import Logger from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { signal } from '@node-network/signalling';
import { addresses as addressUtils, connectionPath } from '@node-network/transport';
import HolePuncher, { holePuncherConfigDefault, punchPayload } from './HolePuncher.js';
import type { HolePuncherConfig } from './HolePuncher.js';

type Candidate = signal.Candidate;
type NATHint = signal.NATHint;

type NodeSignallingConfig = HolePuncherConfig & {
  /** Limit of the whole signal exchange (request out, answer back), ms. */
  signalTimeoutTime: number;
  /** First hops tried in turn when one has no route to the target. */
  firstHopAttempts: number;
  /** Rate limits on the signals this node forwards or answers. */
  rateLimits: ConstructorParameters<typeof signal.RateLimiter>[0];
};

const nodeSignallingConfigDefault: NodeSignallingConfig = {
  ...holePuncherConfigDefault,
  signalTimeoutTime: 8_000,
  firstHopAttempts: 8,
  rateLimits: {},
};

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
  /** The relays we name in our answers (nodes we keep connections to that others can reach). */
  protected relays: () => Array<signal.RelayHint>;
  /** Relays the last answer from each target named, for the relayed fallback. */
  protected relayHints = new Map<string, Array<signal.RelayHint>>();
  protected logger: Logger;
  protected limiter: InstanceType<typeof signal.RateLimiter>;
  protected replay: InstanceType<typeof signal.ReplayGuard>;
  protected puncher: HolePuncher;

  public constructor({
    keyPair,
    network,
    clock,
    manager,
    candidates,
    nat,
    randomBytes,
    audit,
    relays = () => [],
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
    relays?: NodeSignalling['relays'];
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
    this.relays = relays;
    this.config = { ...nodeSignallingConfigDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
    this.limiter = new signal.RateLimiter(this.config.rateLimits);
    this.replay = new signal.ReplayGuard({});
    this.puncher = new HolePuncher({
      clock,
      manager,
      ourNat: () => this.natHints(),
      mappingLifetime: () => this.nat().ipv4.mappingLifetime,
      randomBytes,
      audit,
      config: this.config,
    });
  }

  /** The relays `target` named in its last answer to us (empty when it never answered). */
  public relaysOf(target: NodeId): Array<signal.RelayHint> {
    return this.relayHints.get(identity.encodeNodeId(target)) ?? [];
  }

  /** Whether punching made this live connection. */
  public isPunched(connectionId: string): boolean {
    return this.puncher.isPunched(connectionId);
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
    {
      why,
      prefer = [],
      beforePunch,
    }: {
      /** Why we signal (said in the audit record of the answer or failure). */
      why?: string;
      /** Peers to try first as the first hop (they told us they know the target). */
      prefer?: ReadonlyArray<NodeId>;
      /**
       * Runs once the answer is in, before punching, with the plan and
       * their NAT hints (the caller settles what punching would replace or
       * join, e.g. a direct dial still pending); rejecting ends the connect
       * with its error, unpunched.
       */
      beforePunch?: (answer: {
        plan: signal.PunchPlan;
        nat: signal.NATHints;
        candidates: ReadonlyArray<Candidate>;
      }) => Promise<void>;
    } = {},
  ): Promise<{ nc: NodeConnection; via: NodeId }> {
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
    // on); when it has no route, the next closest, up to `firstHopAttempts`. Peers that told us
    // they know the target (a lookup answer) come first: they likely hold a connection to it.
    const preferred = (id: NodeId) => prefer.some((p) => identity.nodeIdEquals(p, id));
    peers.sort(
      (a, b) =>
        Number(preferred(b)) - Number(preferred(a)) ||
        (distance(a, target) < distance(b, target) ? -1 : 1),
    );
    const t0 = this.clock.now();
    const left = () =>
      typeof ctx.timer === 'number' ? ctx.timer - (this.clock.now() - t0) : undefined;
    let lastError: Error | undefined;
    let answered: { answer: signal.SignalAnswer; via: NodeId } | undefined;
    for (const via of peers.slice(0, this.config.firstHopAttempts)) {
      const l = left();
      if (l != null && l <= 0) break;
      try {
        answered = {
          answer: await this.signalVia(target, via, { timer: l, signal: ctx.signal }, why),
          via,
        };
        break;
      } catch (e) {
        lastError = e as Error;
        // A refusal (rate limit, a bad signal) is final; no route or a broken first hop is not.
        if (ctx.signal?.aborted || isRefusal(e)) throw e;
      }
    }
    if (answered == null) throw lastError!;
    const { answer, via } = answered;
    this.relayHints.set(targetText, answer.relays);
    if (this.relayHints.size > 4096) {
      this.relayHints.delete(this.relayHints.keys().next().value!);
    }
    const theirs = [...answer.candidates, ...answer.observed];
    await beforePunch?.({
      plan: this.puncher.plan(answer.nat),
      nat: answer.nat,
      candidates: theirs,
    });
    const l = left();
    const nc = await this.puncher.punch(target, theirs, answer.nat, {
      timer: Math.max(1, Math.min(l ?? Infinity, this.puncher.duration(answer.nat))),
      signal: ctx.signal,
    });
    return { nc, via };
  }

  /** Sends a signal request for `target` to our peer `via`; resolves with the checked answer. */
  protected async signalVia(
    target: NodeId,
    via: NodeId,
    ctx: Partial<ContextTimedInput>,
    why?: string,
  ): Promise<signal.SignalAnswer> {
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
      const nc = this.manager.getConnection(via);
      if (nc == null) {
        throw new signal.errors.ErrorSignalNoRoute(`The connection to ${viaText} closed`);
      }
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
        outcome: ctx.signal?.aborted ? 'cancelled' : 'failed',
        durationMs: this.clock.now() - t0,
        error: { name: (e as Error).name, message: (e as Error).message },
        detail: `signal to ${targetText} via ${viaText} ${ctx.signal?.aborted ? 'cancelled' : 'failed'}${why != null ? ` (signalled: ${why})` : ''}`,
      });
      throw e;
    }
    const theirs = [...answer.candidates, ...answer.observed];
    this.audit({
      kind: 'signal',
      nodeId: targetText,
      outcome: 'ok',
      durationMs: this.clock.now() - t0,
      detail: `answered via ${viaText}; their candidates ${describe(theirs)}; their NAT ${describeNat(answer.nat)}; punching in ${answer.punchDelayMs} ms (${describePlanShort(this.puncher.plan(answer.nat))})${why != null ? `; signalled: ${why}` : ''}`,
    });
    return answer;
  }

  /**
   * The `signal` RPC: `from` handed us `input`. We answer it if we are the
   * target, else forward it one hop toward the target and relay the answer.
   */
  public async handle(
    input: unknown,
    from: { nodeId: NodeId; address: Address; relayed?: boolean },
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
        // (Not through a relay: there we see the relay, not the source.)
        request.observed = from.relayed ? [] : [{ ...from.address, kind: 'observed' }];
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
        relays: this.relays()
          .filter((h) => !identity.nodeIdEquals(h.nodeId, request.source))
          .slice(0, signal.maxRelays)
          .map((h) => ({ ...h, candidates: h.candidates.slice(0, signal.maxRelayCandidates) })),
      });
      const theirs = [...request.candidates, ...request.observed];
      this.audit({
        kind: 'signal',
        nodeId: sourceText,
        outcome: 'ok',
        detail: `signalled by ${sourceText} through ${request.hops} hops (${request.path.map((p) => identity.encodeNodeId(p)).join(' > ') || 'direct'}); their candidates ${describe(theirs)}; their NAT ${describeNat(request.nat)}`,
      });
      // Punch and dial back in the background: the first path either way wins. (Unless the
      // source's direct dial got here first: that connection is not punched.)
      const existing = this.manager.getConnection(request.source);
      void this.puncher
        .punch(
          request.source,
          theirs,
          request.nat,
          { timer: this.puncher.duration(request.nat) },
          existing != null && connectionPath(existing.connection) !== 'relayed'
            ? existing.connection.id
            : undefined,
        )
        .catch(() => {});
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
    // (Not over a relay circuit or a WebSocket: there the far address is not the target's UDP one.)
    if (route.kind === 'deliver' && connectionPath(nc.connection) === 'direct') {
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
}

/** A signal refused by a hop or the target (other than for want of a route), locally or over RPC. */
function isRefusal(e: unknown): boolean {
  if (e instanceof signal.errors.ErrorSignalNoRoute) return false;
  if (e instanceof signal.errors.ErrorSignal) return true;
  const text = `${(e as Error)?.name} ${(e as Error)?.message} ${(e as any)?.cause?.name}`;
  return /ErrorSignal(?!NoRoute)/.test(text) && !/ErrorSignalNoRoute/.test(text);
}

function describePlanShort(plan: signal.PunchPlan): string {
  return plan.kind === 'open-sockets'
    ? `birthday: we open ${plan.sockets} sockets`
    : plan.kind === 'probe-ports'
      ? `birthday: we probe ${plan.probes} ports (${plan.order})`
      : plan.kind === 'both-dependent'
        ? 'both NATs endpoint-dependent'
        : 'simple';
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
export { nodeSignallingConfigDefault, punchPayload, distance };
export type { NodeSignallingConfig };
