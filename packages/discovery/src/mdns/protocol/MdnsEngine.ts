import type { DnsMessage } from './dnsCodec.js';
import type { QueryScheduleConfig } from './QuerySchedule.js';
import type { ServiceAdvert } from './serviceRecords.js';
import type { BrowserEvent, BrowserStats } from './Browser.js';
import type { ResponderStats } from './Responder.js';
import { decodeMessage, encodeMessage } from './dnsCodec.js';
import Browser from './Browser.js';
import QueryBudget from './QueryBudget.js';
import Responder from './Responder.js';
import { ErrorMdnsCodec } from '../../errors.js';

/** Bytes to send: to the interface's multicast groups (`to` undefined), or unicast. */
type EngineTransmit = {
  data: Uint8Array;
  message: DnsMessage;
  to?: { host: string; port: number };
};

type EngineEvent =
  | BrowserEvent
  | { type: 'conflict'; name: string }
  | { type: 'malformed'; from: string; error: ErrorMdnsCodec<unknown> };

type EngineStats = BrowserStats &
  ResponderStats & { received: number; malformed: number; ownEchoes: number; sent: number };

/**
 * mDNS on one interface, sans-IO (quinn-proto's shape): `handleMessage(now,
 * bytes, from)` and `handleTimeout(now)` in; `pollTransmit()`,
 * `pollEvent()` and `pollTimeout()` out. Composes our `Responder` (when we
 * advertise) and the `Browser`, decodes once, drops what fails to decode
 * (counted and reported as `malformed`, never thrown) and drops the
 * echoes of our own multicasts (the kernel loops them back to us).
 */
class MdnsEngine {
  public readonly responder?: Responder;
  public readonly browser: Browser;
  protected outbox: Array<EngineTransmit> = [];
  protected events: Array<EngineEvent> = [];
  protected recentlySent = new Map<string, number>();
  protected counters = { received: 0, malformed: 0, ownEchoes: 0, sent: 0 };
  protected conflictReported = false;

  public constructor(opts: {
    random: () => number;
    advert?: ServiceAdvert;
    /** Shared by every engine of a node: the bound on queries per minute is per node. */
    budget?: QueryBudget;
    maxQueriesPerMinute?: number;
    schedule?: Partial<QueryScheduleConfig>;
    zone?: string;
  }) {
    if (opts.advert != null) this.responder = new Responder(opts.advert, opts.random);
    this.browser = new Browser({
      random: opts.random,
      budget: opts.budget ?? new QueryBudget(opts.maxQueriesPerMinute ?? 12),
      schedule: opts.schedule,
      selfInstance: opts.advert?.instance,
      zone: opts.zone,
    });
  }

  public get stats(): EngineStats {
    const r = this.responder?.stats ?? { answered: 0, suppressedByKnownAnswer: 0, rateLimited: 0 };
    return { ...this.browser.stats, ...r, ...this.counters };
  }

  public start(now: number): void {
    this.responder?.start(now);
    this.browser.start(now);
    this.drain(now);
  }

  /** Stops browsing and queues our goodbyes; pull them with `pollTransmit`. */
  public stop(now: number): void {
    this.browser.stop();
    this.responder?.stop();
    this.drain(now);
  }

  /**
   * One datagram from `from`; `local` says it came from one of this host's
   * own addresses (only those can be the echo of what we sent).
   */
  public handleMessage(
    now: number,
    data: Uint8Array,
    from: { host: string; port: number; local?: boolean },
  ): void {
    const key = Buffer.from(data).toString('base64');
    const sent = this.recentlySent.get(key);
    if (from.local === true && sent != null && now - sent < 2000) {
      this.counters.ownEchoes++;
      return;
    }
    this.counters.received++;
    let msg: DnsMessage;
    try {
      msg = decodeMessage(data);
    } catch (e) {
      if (!(e instanceof ErrorMdnsCodec)) throw e;
      this.counters.malformed++;
      this.events.push({ type: 'malformed', from: `${from.host}:${from.port}`, error: e });
      return;
    }
    if (msg.opcode !== 0 || msg.rcode !== 0) return;
    if (msg.response) {
      this.responder?.handleResponse(msg);
      this.browser.handleResponse(now, msg);
    } else {
      this.responder?.handleQuery(now, msg, { host: from.host, port: from.port });
      this.browser.handleQuery(now, msg);
    }
    this.drain(now);
  }

  public handleTimeout(now: number): void {
    this.responder?.handleTimeout(now);
    this.browser.handleTimeout(now);
    this.drain(now);
  }

  public pollTransmit(): EngineTransmit | undefined {
    return this.outbox.shift();
  }

  public pollEvent(): EngineEvent | undefined {
    return this.events.shift();
  }

  public pollTimeout(): number | undefined {
    const ts = [this.responder?.pollTimeout(), this.browser.pollTimeout()].filter(
      (t): t is number => t != null,
    );
    return ts.length > 0 ? Math.min(...ts) : undefined;
  }

  protected drain(now: number): void {
    for (const [k, t] of this.recentlySent) if (now - t >= 2000) this.recentlySent.delete(k);
    const sources = [this.responder, this.browser];
    for (const s of sources) {
      for (let t = s?.pollTransmit(); t != null; t = s?.pollTransmit()) {
        const data = encodeMessage(t.message);
        if (t.to == null) this.recentlySent.set(Buffer.from(data).toString('base64'), now);
        this.counters.sent++;
        this.outbox.push({ data, message: t.message, to: t.to });
      }
    }
    if (this.responder?.state === 'conflict' && !this.conflictReported) {
      this.conflictReported = true;
      this.events.push({ type: 'conflict', name: this.responder.conflict?.name ?? '' });
    }
    for (let e = this.browser.pollEvent(); e != null; e = this.browser.pollEvent())
      this.events.push(e);
  }
}

export default MdnsEngine;
export type { EngineTransmit, EngineEvent, EngineStats };
