import type {
  Address,
  Clock,
  DatagramPort,
  TimerHandle,
  Unsubscribe,
} from '@node-network/network-interface';
import type { ProbeRequest, ReplyFrom } from './messages.js';
import { decodeProbeMessage, encodeProbeMessage } from './messages.js';

type NATProbeServerLimits = {
  /** Delayed answers waiting, in total. */
  maxPending: number;
  /** Delayed answers waiting, per source IP. */
  maxPendingPerHost: number;
  /** Requests per second per source IP (token bucket)... */
  ratePerHost: number;
  /** ...with this burst. */
  burstPerHost: number;
  /** Source IPs whose buckets are remembered (oldest forgotten first). */
  maxTrackedHosts: number;
};

const limitsDefault: NATProbeServerLimits = {
  maxPending: 1000,
  maxPendingPerHost: 8,
  ratePerHost: 20,
  burstPerHost: 40,
  maxTrackedHosts: 10_000,
};

type Stats = {
  requests: number;
  answers: number;
  malformed: number;
  rateLimited: number;
  pendingRefused: number;
};

/**
 * Answers NAT probes (sans-IO over `DatagramPort` and `Clock`): a request
 * arriving on `main` is answered from each endpoint it asks for that the
 * server has (the same endpoint, another port of the same host, another IP
 * of the same machine), at once or after its delay. Requests are rate
 * limited per source IP and delayed answers are bounded, so the server
 * cannot be used to flood anyone; malformed datagrams are counted and
 * dropped.
 */
class NATProbeServer {
  public readonly stats: Stats = {
    requests: 0,
    answers: 0,
    malformed: 0,
    rateLimited: 0,
    pendingRefused: 0,
  };
  protected clock: Clock;
  protected ports: Partial<Record<ReplyFrom, DatagramPort>>;
  protected limits: NATProbeServerLimits;
  protected buckets = new Map<string, { tokens: number; at: number }>();
  protected pending = new Set<TimerHandle>();
  protected pendingPerHost = new Map<string, number>();
  protected unsubscribe?: Unsubscribe;

  public constructor({
    clock,
    main,
    otherPort,
    otherHost,
    limits = {},
  }: {
    clock: Clock;
    main: DatagramPort;
    otherPort?: DatagramPort;
    otherHost?: DatagramPort;
    limits?: Partial<NATProbeServerLimits>;
  }) {
    this.clock = clock;
    this.ports = { same: main, 'other-port': otherPort, 'other-host': otherHost };
    this.limits = { ...limitsDefault, ...limits };
  }

  /** The main endpoint, where requests go. */
  public get address(): Address {
    return this.ports.same!.localAddress;
  }

  /** The endpoints this server can answer from. */
  public capabilities(): Array<ReplyFrom> {
    return (Object.keys(this.ports) as Array<ReplyFrom>).filter((k) => this.ports[k] != null);
  }

  public start(): void {
    this.unsubscribe ??= this.ports.same!.onDatagram((data, from) => this.receive(data, from));
  }

  public stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.pending) t.cancel();
    this.pending.clear();
    this.pendingPerHost.clear();
  }

  protected receive(data: Uint8Array, from: Address): void {
    let req: ProbeRequest;
    try {
      const m = decodeProbeMessage(data);
      if (m.type !== 'probe') throw new Error('not a request');
      req = m;
    } catch {
      this.stats.malformed++;
      return;
    }
    this.stats.requests++;
    if (!this.admit(from.host)) {
      this.stats.rateLimited++;
      return;
    }
    if (req.delayMs === 0) return this.answer(req, from);
    const waiting = this.pendingPerHost.get(from.host) ?? 0;
    if (this.pending.size >= this.limits.maxPending || waiting >= this.limits.maxPendingPerHost) {
      this.stats.pendingRefused++;
      return;
    }
    this.pendingPerHost.set(from.host, waiting + 1);
    const timer = this.clock.setTimer(req.delayMs, () => {
      this.pending.delete(timer);
      const left = (this.pendingPerHost.get(from.host) ?? 1) - 1;
      if (left > 0) this.pendingPerHost.set(from.host, left);
      else this.pendingPerHost.delete(from.host);
      this.answer(req, from);
    });
    this.pending.add(timer);
  }

  protected answer(req: ProbeRequest, to: Address): void {
    for (const from of req.replyFrom) {
      const port = this.ports[from];
      if (port == null || port.closed || port.localAddress.family !== to.family) continue;
      const bytes = encodeProbeMessage({ type: 'answer', nonce: req.nonce, from, observed: to });
      this.stats.answers++;
      void port.send(bytes, to).catch(() => {});
    }
  }

  /** Token bucket per source IP on the injected clock. */
  protected admit(host: string): boolean {
    const now = this.clock.now();
    let b = this.buckets.get(host);
    if (b == null) {
      if (this.buckets.size >= this.limits.maxTrackedHosts) {
        this.buckets.delete(this.buckets.keys().next().value!);
      }
      b = { tokens: this.limits.burstPerHost, at: now };
      this.buckets.set(host, b);
    }
    b.tokens = Math.min(
      this.limits.burstPerHost,
      b.tokens + ((now - b.at) / 1000) * this.limits.ratePerHost,
    );
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export default NATProbeServer;
export { limitsDefault as natProbeServerLimitsDefault };
export type { NATProbeServerLimits };
