import type { DnsRecord } from './dnsCodec.js';
import { nameKey, rdataKey } from './dnsCodec.js';

type CachedRecord = {
  record: DnsRecord;
  /** When it arrived (ms, the caller's clock). */
  received: number;
  /** When it expires: received + ttl (1 s after a goodbye, RFC 6762 10.1). */
  expires: number;
  /** The next fraction of its TTL (0.8, 0.85, 0.9, 0.95) at which to ask for it again. */
  refreshStep: number;
  /** A small random offset (0-2% of the TTL) so that many caches do not refresh at once. */
  jitter: number;
};

const refreshFractions = [0.8, 0.85, 0.9, 0.95];

function recordKey(r: DnsRecord): string {
  return `${nameKey(r.name)}|${r.type}|${rdataKey(r.data)}`;
}

function rrsetKey(name: string, type: number): string {
  return `${nameKey(name)}|${type}`;
}

/**
 * The records we learned, each until its TTL runs out (RFC 6762 10): a
 * goodbye (TTL 0) keeps a record one more second; a record with the
 * cache-flush bit makes the others of its name and type that are older
 * than a second expire in one second (10.2). Records past 80% of their TTL
 * are offered for refresh queries (5.2). Pure: every method takes `now`.
 */
class RecordCache {
  protected records = new Map<string, CachedRecord>();

  /** `maxSize`: past it, the record received longest ago makes room (a flood cannot grow the cache). */
  public constructor(
    protected random: () => number,
    protected maxSize = Infinity,
  ) {}

  public get size(): number {
    return this.records.size;
  }

  /** Adds the records of one response; returns whether anything changed. */
  public addAll(now: number, records: ReadonlyArray<DnsRecord>): boolean {
    let changed = false;
    const inThisPacket = new Set(records.map(recordKey));
    for (const rec of records) {
      if (!rec.cacheFlush || rec.ttl === 0) continue;
      const set = rrsetKey(rec.name, rec.type);
      for (const [k, c] of this.records) {
        if (inThisPacket.has(k) || rrsetKey(c.record.name, c.record.type) !== set) continue;
        if (now - c.received > 1000 && c.expires > now + 1000) {
          c.expires = now + 1000;
          changed = true;
        }
      }
    }
    for (const rec of records) changed = this.add(now, rec) || changed;
    return changed;
  }

  public add(now: number, record: DnsRecord): boolean {
    const key = recordKey(record);
    const old = this.records.get(key);
    if (record.ttl === 0) {
      if (old == null || old.expires <= now + 1000) return false;
      old.expires = now + 1000;
      return true;
    }
    if (old == null && this.records.size >= this.maxSize) {
      let oldest: string | undefined;
      let oldestAt = Infinity;
      for (const [k, c] of this.records) {
        if (c.received < oldestAt) {
          oldestAt = c.received;
          oldest = k;
        }
      }
      if (oldest != null) this.records.delete(oldest);
    }
    this.records.set(key, {
      record,
      received: now,
      expires: now + record.ttl * 1000,
      refreshStep: 0,
      jitter: this.random() * 0.02,
    });
    return old == null;
  }

  /** Live records of `name` and `type`. */
  public get(name: string, type: number, now: number): Array<DnsRecord> {
    const set = rrsetKey(name, type);
    const out: Array<DnsRecord> = [];
    for (const c of this.records.values()) {
      if (c.expires > now && rrsetKey(c.record.name, c.record.type) === set) out.push(c.record);
    }
    return out;
  }

  /**
   * Known answers for a question (RFC 6762 7.1): the live records of `name`
   * and `type` with more than half their TTL left, with their remaining TTL.
   */
  public knownAnswers(name: string, type: number, now: number): Array<DnsRecord> {
    const set = rrsetKey(name, type);
    const out: Array<DnsRecord> = [];
    for (const c of this.records.values()) {
      if (rrsetKey(c.record.name, c.record.type) !== set) continue;
      const left = c.expires - now;
      if (left > (c.record.ttl * 1000) / 2) {
        out.push({ ...c.record, ttl: Math.floor(left / 1000) });
      }
    }
    return out;
  }

  /** Removes expired records and returns them. */
  public expire(now: number): Array<DnsRecord> {
    const gone: Array<DnsRecord> = [];
    for (const [k, c] of this.records) {
      if (c.expires <= now) {
        this.records.delete(k);
        gone.push(c.record);
      }
    }
    return gone;
  }

  /** Records that passed their next refresh point (each point is offered once). */
  public dueRefresh(now: number): Array<DnsRecord> {
    const out: Array<DnsRecord> = [];
    for (const c of this.records.values()) {
      const at = this.refreshAt(c);
      if (at != null && at <= now) {
        out.push(c.record);
        while (this.refreshAt(c) != null && this.refreshAt(c)! <= now) c.refreshStep++;
      }
    }
    return out;
  }

  /** The earliest expiry or refresh point. */
  public nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const c of this.records.values()) {
      for (const t of [c.expires, this.refreshAt(c)]) {
        if (t != null && (next == null || t < next)) next = t;
      }
    }
    return next;
  }

  protected refreshAt(c: CachedRecord): number | undefined {
    const ttl = c.record.ttl * 1000;
    // Records already ending (a goodbye or a flush) are not refreshed.
    if (c.refreshStep >= refreshFractions.length || c.expires !== c.received + ttl)
      return undefined;
    return c.received + ttl * (refreshFractions[c.refreshStep] + c.jitter);
  }
}

export default RecordCache;
export { recordKey };
