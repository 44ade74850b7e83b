import type { DnsMessage, DnsQuestion, DnsRecord } from './dnsCodec.js';
import type { QueryScheduleConfig } from './QuerySchedule.js';
import type { ServiceSighting } from './serviceRecords.js';
import type { Transmit } from './Responder.js';
import { RType, nameKey, sameRecord } from './dnsCodec.js';
import RecordCache from './RecordCache.js';
import QuerySchedule from './QuerySchedule.js';
import QueryBudget from './QueryBudget.js';
import { message } from './Responder.js';
import { decodeTxt, instanceFqdn, instanceOf, serviceDomain, withZone } from './serviceRecords.js';

type BrowserEvent =
  | { type: 'found'; sighting: ServiceSighting }
  | { type: 'lost'; instance: string; reason: 'goodbye' | 'expired' };

type BrowserStats = {
  queries: number;
  knownAnswersSent: number;
  /** Our scheduled query counted as sent because another host asked the same (RFC 6762 7.3). */
  suppressedByDuplicate: number;
  /** Queries that waited because the per-minute budget was spent. */
  deferredByBudget: number;
};

/** At most this many known answers in one query, so it stays within one 1500-byte packet. */
const maxKnownAnswers = 16;
/** Host address records kept at most (the oldest make room). */
const maxAddressRecords = 256;
/** Resolving an incomplete instance: at most this many tries (1 s, 2 s, 4 s apart). */
const maxResolveTries = 3;

/**
 * Browsing for our service type (RFC 6762 5, RFC 6763), sans-IO: the
 * continuous PTR query on its backoff schedule, with known answers
 * (7.1) and duplicate question suppression (7.3); a cache of the records
 * that matter (our type's PTRs, their instances' SRV/TXT, their targets'
 * addresses); queries for what an instance still lacks and refresh
 * queries at 80-95% of a record's TTL (5.2); every query within the
 * shared per-minute budget. Events: an instance `found` (complete, or
 * changed) and `lost` (goodbye, or expired).
 */
class Browser {
  public readonly stats: BrowserStats = {
    queries: 0,
    knownAnswersSent: 0,
    suppressedByDuplicate: 0,
    deferredByBudget: 0,
  };
  protected cache: RecordCache;
  /**
   * Host addresses (A/AAAA) from any response, bounded: a service's announcement may come without its
   * host's addresses (avahi announces those on their own), which we then already have.
   */
  protected addresses: RecordCache;
  protected schedule: QuerySchedule;
  protected budget: QueryBudget;
  protected wanted = new Map<string, DnsQuestion>();
  /** Incomplete instances: what was last asked for them, how often, and when to ask again. */
  protected resolving = new Map<string, { tries: number; nextAt: number; asked: string }>();
  protected reported = new Map<string, { key: string; sighting: ServiceSighting }>();
  protected goodbye = new Set<string>();
  protected budgetWait: number | undefined;
  protected outbox: Array<Transmit> = [];
  protected events: Array<BrowserEvent> = [];
  protected running = false;

  public constructor(
    protected opts: {
      random: () => number;
      budget: QueryBudget;
      schedule?: Partial<QueryScheduleConfig>;
      /** Our own instance: never reported. */
      selfInstance?: string;
      /** The interface, added as zone to link-local IPv6 addresses. */
      zone?: string;
    },
  ) {
    this.cache = new RecordCache(opts.random);
    this.addresses = new RecordCache(opts.random, maxAddressRecords);
    this.schedule = new QuerySchedule(opts.random, opts.schedule);
    this.budget = opts.budget;
  }

  public start(now: number): void {
    this.running = true;
    this.schedule.start(now);
  }

  public stop(): void {
    this.running = false;
    this.schedule.stop();
    this.wanted.clear();
  }

  /** Complete instances seen now. */
  public sightings(): Array<ServiceSighting> {
    return [...this.reported.values()].map((r) => r.sighting);
  }

  public handleResponse(now: number, msg: DnsMessage): void {
    if (!this.running) return;
    const records = [...msg.answers, ...msg.additionals];
    const service = records.filter((r) => this.isServiceRecord(r));
    for (const r of service) {
      if (r.ttl === 0) this.goodbye.add(this.instanceOfRecord(r) ?? '');
      else if (r.type === RType.PTR) this.goodbye.delete(this.instanceOfRecord(r) ?? '');
    }
    this.cache.addAll(now, service);
    this.addresses.addAll(
      now,
      records.filter((r) => r.type === RType.A || r.type === RType.AAAA),
    );
    this.update(now);
  }

  /** Another host's query: if it asks our continuous question with no answers we lack, ours counts as sent. */
  public handleQuery(now: number, msg: DnsMessage): void {
    if (!this.running || this.schedule.nextDue == null) return;
    const asks = msg.questions.some(
      (q) => !q.qu && q.type === RType.PTR && nameKey(q.name) === nameKey(serviceDomain),
    );
    if (!asks) return;
    const ours = this.cache.knownAnswers(serviceDomain, RType.PTR, now);
    const theirs = msg.answers.filter((r) => r.type === RType.PTR);
    if (theirs.every((t) => ours.some((o) => sameRecord(o, t)))) {
      this.schedule.sent(now);
      this.stats.suppressedByDuplicate++;
    }
  }

  public handleTimeout(now: number): void {
    if (!this.running) return;
    const expired = [...this.cache.expire(now), ...this.addresses.expire(now)];
    for (const r of [...this.cache.dueRefresh(now), ...this.addresses.dueRefresh(now)]) {
      if (this.isWantedForRefresh(r, now)) this.want(r.name, r.type);
    }
    for (const [inst, s] of this.resolving) {
      if (s.nextAt > now) continue;
      if (s.tries >= maxResolveTries) {
        this.resolving.delete(inst);
        continue;
      }
      s.asked = this.wantMissing(inst, now);
      s.tries++;
      s.nextAt = now + 1000 * 2 ** (s.tries - 1);
    }
    if (expired.length > 0) this.update(now);
    this.flushQueries(now);
  }

  public pollTransmit(): Transmit | undefined {
    return this.outbox.shift();
  }

  public pollEvent(): BrowserEvent | undefined {
    return this.events.shift();
  }

  public pollTimeout(): number | undefined {
    if (!this.running) return undefined;
    const ts = [
      this.schedule.nextDue,
      this.cache.nextDeadline(),
      this.addresses.nextDeadline(),
      this.budgetWait,
    ];
    for (const s of this.resolving.values()) ts.push(s.nextAt);
    const defined = ts.filter((t): t is number => t != null);
    return defined.length > 0 ? Math.min(...defined) : undefined;
  }

  protected flushQueries(now: number): void {
    const browse = this.schedule.due(now);
    if (!browse && this.wanted.size === 0) return;
    if (!this.budget.take(now)) {
      this.budgetWait = this.budget.nextFree(now);
      this.schedule.deferTo(this.budgetWait);
      this.stats.deferredByBudget++;
      return;
    }
    this.budgetWait = undefined;
    const questions: Array<DnsQuestion> = [...this.wanted.values()];
    this.wanted.clear();
    let answers: Array<DnsRecord> = [];
    if (browse) {
      questions.unshift({ name: serviceDomain, type: RType.PTR, qu: false });
      answers = this.cache.knownAnswers(serviceDomain, RType.PTR, now).slice(0, maxKnownAnswers);
      this.schedule.sent(now);
    }
    this.stats.queries++;
    this.stats.knownAnswersSent += answers.length;
    this.outbox.push({ message: message(false, { questions, answers }) });
  }

  protected want(name: string, type: number): void {
    this.wanted.set(`${nameKey(name)}|${type}`, { name, type, qu: false });
  }

  /** Wants the questions an incomplete instance still needs answered; returns their key. */
  protected wantMissing(inst: string, now: number, dryRun = false): string {
    const fqdn = instanceFqdn(inst);
    const srv = this.cache.get(fqdn, RType.SRV, now)[0];
    const qs: Array<[string, number]> = [];
    if (srv == null) qs.push([fqdn, RType.SRV]);
    if (this.cache.get(fqdn, RType.TXT, now).length === 0) qs.push([fqdn, RType.TXT]);
    if (srv?.data.kind === 'SRV') {
      qs.push([srv.data.target, RType.A], [srv.data.target, RType.AAAA]);
    }
    if (!dryRun) for (const [n, t] of qs) this.want(n, t);
    return qs.map(([n, t]) => `${nameKey(n)}|${t}`).join(' ');
  }

  /** Records worth refreshing: those of instances we still track (and their PTRs). */
  protected isWantedForRefresh(r: DnsRecord, now: number): boolean {
    if (r.type === RType.PTR) return true;
    const inst = instanceOf(r.name);
    if (inst != null) return this.instances(now).includes(inst);
    return [...this.reported.values()].some(
      (x) => nameKey(`${x.sighting.host}.local`) === nameKey(r.name),
    );
  }

  protected isServiceRecord(r: DnsRecord): boolean {
    if (r.type === RType.PTR) {
      return (
        nameKey(r.name) === nameKey(serviceDomain) &&
        r.data.kind === 'PTR' &&
        instanceOf(r.data.name) != null
      );
    }
    return (r.type === RType.SRV || r.type === RType.TXT) && instanceOf(r.name) != null;
  }

  protected instanceOfRecord(r: DnsRecord): string | undefined {
    return r.data.kind === 'PTR' ? instanceOf(r.data.name) : instanceOf(r.name);
  }

  /** Instances with a live PTR, other than our own. */
  protected instances(now: number): Array<string> {
    const out: Array<string> = [];
    for (const p of this.cache.get(serviceDomain, RType.PTR, now)) {
      const inst = p.data.kind === 'PTR' ? instanceOf(p.data.name) : undefined;
      if (inst != null && inst !== this.opts.selfInstance && !out.includes(inst)) out.push(inst);
    }
    return out;
  }

  protected assemble(inst: string, now: number): ServiceSighting | undefined {
    const fqdn = instanceFqdn(inst);
    const srv = this.cache.get(fqdn, RType.SRV, now)[0];
    const txt = this.cache.get(fqdn, RType.TXT, now)[0];
    if (srv?.data.kind !== 'SRV' || txt?.data.kind !== 'TXT') return undefined;
    const target = srv.data.target;
    const addresses = [
      ...this.addresses.get(target, RType.A, now),
      ...this.addresses.get(target, RType.AAAA, now),
    ].flatMap((r) =>
      r.data.kind === 'A' || r.data.kind === 'AAAA'
        ? [withZone(r.data.address, this.opts.zone)]
        : [],
    );
    if (addresses.length === 0) return undefined;
    return {
      instance: inst,
      port: srv.data.port,
      host: target.replace(/\.local$/i, ''),
      txt: decodeTxt(txt.data.strings),
      addresses: [...new Set(addresses)].sort(),
    };
  }

  /** Reports instances that became complete or changed, and those whose PTR went. */
  protected update(now: number): void {
    const live = this.instances(now);
    for (const inst of live) {
      const s = this.assemble(inst, now);
      if (s == null) {
        // Ask at once when the instance is new or what it lacks changed (an SRV arrived without
        // addresses: avahi announces a service without its host's records); else keep the backoff.
        const missing = this.wantMissing(inst, now, true);
        const r = this.resolving.get(inst);
        if (r == null || r.asked !== missing) {
          this.resolving.set(inst, { tries: 0, nextAt: now, asked: '' });
        }
        continue;
      }
      this.resolving.delete(inst);
      const key = JSON.stringify([s.port, s.host, Object.entries(s.txt).sort(), s.addresses]);
      if (this.reported.get(inst)?.key === key) continue;
      this.reported.set(inst, { key, sighting: s });
      this.events.push({ type: 'found', sighting: s });
    }
    for (const inst of [...this.reported.keys()]) {
      if (live.includes(inst) && this.cache.get(instanceFqdn(inst), RType.SRV, now).length > 0) {
        continue;
      }
      this.reported.delete(inst);
      this.resolving.delete(inst);
      this.events.push({
        type: 'lost',
        instance: inst,
        reason: this.goodbye.has(inst) ? 'goodbye' : 'expired',
      });
      this.goodbye.delete(inst);
    }
  }
}

export default Browser;
export type { BrowserEvent, BrowserStats };
