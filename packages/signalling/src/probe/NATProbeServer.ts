import type {
  Address,
  Clock,
  DatagramPort,
  TimerHandle,
  Unsubscribe,
} from '@node-network/network-interface';
import type { ProbeMessage, ProbeRequest, ReplyFrom } from './messages.js';
import { decodeProbeMessage, encodeProbeMessage, replyFroms } from './messages.js';

type NATProbeServerLimits = {
  /** Delayed answers waiting, in total. */
  maxPending: number;
  /** Delayed answers waiting, per source IP. */
  maxPendingPerHost: number;
  /** Requests per second per source IP (token bucket on the injected clock)... */
  ratePerHost: number;
  /** ...with this burst. */
  burstPerHost: number;
  /** Source IPs whose buckets are remembered (least recently seen forgotten first). */
  maxTrackedHosts: number;
};

const limitsDefault: Readonly<NATProbeServerLimits> = {
  maxPending: 1000,
  maxPendingPerHost: 8,
  ratePerHost: 20,
  burstPerHost: 40,
  maxTrackedHosts: 10_000,
};

type NATProbeServerStats = {
  /** Valid requests received on the main endpoint. */
  requests: number;
  /** Answers handed to a port. */
  answers: number;
  /** Datagrams on the main endpoint that were not a valid request (dropped). */
  malformed: number;
  /** Requests dropped by the per-source-IP rate limit. */
  rateLimited: number;
  /** Delayed requests dropped because too many answers were already waiting. */
  pendingRefused: number;
  /** Answers a port refused to send (closed, wrong family, too large). */
  sendErrors: number;
};

type NATProbeServerOptions = {
  clock: Clock;
  /** Where requests arrive; answers `same` from here. */
  main: DatagramPort;
  /** Another port of the same host as `main`; answers `other-port`. */
  otherPort?: DatagramPort;
  /** A port on another IP of the same machine; answers `other-host`. */
  otherHost?: DatagramPort;
  /** Overrides of `natProbeServerLimitsDefault`. */
  limits?: Partial<NATProbeServerLimits>;
};

/**
 * Answers NAT probes, over `DatagramPort` and `Clock` only (real UDP or
 * netsim). A request arriving on `main` is answered from each endpoint it
 * asks for that the server has (`same`: `main`; `other-port`: another port
 * of the same host; `other-host`: another IP of the same machine; one it
 * does not have is skipped, and clients learn which it has from
 * `capabilities()`), at once or after the request's delay on the clock.
 *
 * Amplification: requests are padded to at least the largest answer and get
 * at most one answer per endpoint, so the server sends at most 3 x the bytes
 * of each request (also enforced here, whatever the codec). Requests are
 * rate limited per source IP (token bucket) and delayed answers are bounded
 * in total and per source IP; what is refused is dropped and counted in
 * `stats`, as are malformed datagrams. The receive handler never throws.
 */
class NATProbeServer {
  public readonly stats: NATProbeServerStats = {
    requests: 0,
    answers: 0,
    malformed: 0,
    rateLimited: 0,
    pendingRefused: 0,
    sendErrors: 0,
  };
  public readonly limits: Readonly<NATProbeServerLimits>;
  protected clock: Clock;
  protected main: DatagramPort;
  protected ports: Partial<Record<ReplyFrom, DatagramPort>>;
  protected buckets = new Map<string, { tokens: number; at: number }>();
  protected pending = new Set<TimerHandle>();
  protected pendingPerHost = new Map<string, number>();
  protected unsubscribe?: Unsubscribe;

  public constructor({ clock, main, otherPort, otherHost, limits = {} }: NATProbeServerOptions) {
    this.clock = clock;
    this.main = main;
    this.ports = { same: main, 'other-port': otherPort, 'other-host': otherHost };
    this.limits = { ...limitsDefault, ...limits };
  }

  /** The main endpoint, where requests go. */
  public get address(): Address {
    return this.main.localAddress;
  }

  /** Whether the server is receiving requests. */
  public get running(): boolean {
    return this.unsubscribe != null;
  }

  /** Delayed answers waiting. */
  public get pendingAnswers(): number {
    return this.pending.size;
  }

  /** The endpoints this server can answer from (always `same`). */
  public capabilities(): Array<ReplyFrom> {
    return replyFroms.filter((k) => this.ports[k] != null);
  }

  /** Starts answering requests on `main`; idempotent. */
  public start(): void {
    this.unsubscribe ??= this.main.onDatagram((data, from) => {
      try {
        this.receive(data, from);
      } catch {
        // Never out of the receive handler: whatever went wrong, drop it.
        this.stats.malformed++;
      }
    });
  }

  /** Stops receiving and drops the answers still waiting; idempotent. The ports stay open. */
  public stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.pending) t.cancel();
    this.pending.clear();
    this.pendingPerHost.clear();
  }

  protected receive(data: Uint8Array, from: Address): void {
    let m: ProbeMessage;
    try {
      m = decodeProbeMessage(data);
    } catch {
      this.stats.malformed++;
      return;
    }
    if (m.type !== 'probe') {
      this.stats.malformed++;
      return;
    }
    this.stats.requests++;
    if (!this.admit(from.host)) {
      this.stats.rateLimited++;
      return;
    }
    const budget = 3 * data.byteLength;
    if (m.delayMs === 0) {
      this.answer(m, from, budget);
      return;
    }
    const waiting = this.pendingPerHost.get(from.host) ?? 0;
    if (this.pending.size >= this.limits.maxPending || waiting >= this.limits.maxPendingPerHost) {
      this.stats.pendingRefused++;
      return;
    }
    const req = m;
    this.pendingPerHost.set(from.host, waiting + 1);
    const timer = this.clock.setTimer(req.delayMs, () => {
      if (!this.pending.delete(timer)) return;
      const left = (this.pendingPerHost.get(from.host) ?? 1) - 1;
      if (left > 0) this.pendingPerHost.set(from.host, left);
      else this.pendingPerHost.delete(from.host);
      try {
        this.answer(req, from, budget);
      } catch {
        this.stats.sendErrors++;
      }
    });
    this.pending.add(timer);
  }

  /** Sends the answers `req` asks for to `to`, never more than `budget` bytes in all. */
  protected answer(req: ProbeRequest, to: Address, budget: number): void {
    let left = budget;
    for (const kind of req.replyFrom) {
      const port = this.ports[kind];
      if (port == null) continue;
      if (port.closed || port.localAddress.family !== to.family) {
        this.stats.sendErrors++;
        continue;
      }
      const bytes = encodeProbeMessage({
        type: 'answer',
        nonce: req.nonce,
        from: kind,
        observed: to,
      });
      if (bytes.byteLength > left) break;
      left -= bytes.byteLength;
      try {
        port.send(bytes, to).catch(() => {
          this.stats.sendErrors++;
        });
        this.stats.answers++;
      } catch {
        this.stats.sendErrors++;
      }
    }
  }

  /** Token bucket per source IP on the injected clock. */
  protected admit(host: string): boolean {
    const now = this.clock.now();
    let b = this.buckets.get(host);
    if (b == null) {
      if (this.buckets.size >= this.limits.maxTrackedHosts) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      b = { tokens: this.limits.burstPerHost, at: now };
    } else {
      // Re-inserted below: the map stays in least-recently-seen order.
      this.buckets.delete(host);
    }
    this.buckets.set(host, b);
    b.tokens = Math.min(
      this.limits.burstPerHost,
      b.tokens + (Math.max(0, now - b.at) / 1000) * this.limits.ratePerHost,
    );
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export default NATProbeServer;
export { limitsDefault as natProbeServerLimitsDefault };
export type { NATProbeServerLimits, NATProbeServerStats, NATProbeServerOptions };
