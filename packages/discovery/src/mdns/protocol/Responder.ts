import type { DnsMessage, DnsQuestion, DnsRecord } from './dnsCodec.js';
import type { ServiceAdvert } from './serviceRecords.js';
import { RType, nameKey, sameRecord } from './dnsCodec.js';
import { recordKey } from './RecordCache.js';
import { advertRecords } from './serviceRecords.js';

const mdnsPort = 5353;

/** A message to send: to the multicast group when `to` is undefined, else unicast. */
type Transmit = { message: DnsMessage; to?: { host: string; port: number } };

type ResponderState = 'idle' | 'probing' | 'announcing' | 'running' | 'conflict' | 'stopped';

type ResponderStats = { answered: number; suppressedByKnownAnswer: number; rateLimited: number };

const probeInterval = 250;
const announceCount = 2;
const announceInterval = 1000;

function message(
  response: boolean,
  parts: Partial<Pick<DnsMessage, 'questions' | 'answers' | 'authorities' | 'additionals' | 'id'>>,
): DnsMessage {
  return {
    id: 0,
    response,
    authoritative: response,
    truncated: false,
    opcode: 0,
    rcode: 0,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
    ...parts,
  };
}

function matches(q: DnsQuestion, r: DnsRecord): boolean {
  return (q.type === r.type || q.type === RType.ANY) && nameKey(q.name) === nameKey(r.name);
}

/**
 * Our side of mDNS (RFC 6762), sans-IO: probes our unique names three
 * times 250 ms apart (the first after a random 0-250 ms), announces twice
 * 1 s apart, then answers queries: shared answers (PTR) after a random
 * 20-120 ms, unique ones at once; answers the querier listed as known with
 * at least half their TTL are left out (7.1); no record is multicast twice
 * within a second (6.2); legacy unicast queries (source port not 5353) get a
 * unicast answer with TTLs capped at 10 s (6.7). A response that claims one
 * of our unique names with other data is a conflict (another node with our
 * NodeId): we stop answering. `stop` sends goodbyes (TTL 0).
 */
class Responder {
  public state: ResponderState = 'idle';
  public readonly stats: ResponderStats = {
    answered: 0,
    suppressedByKnownAnswer: 0,
    rateLimited: 0,
  };
  public conflict?: DnsRecord;
  protected records: Array<DnsRecord>;
  protected goodbyes: Array<DnsRecord>;
  protected uniqueNames: Set<string>;
  protected step = 0;
  protected stepDue: number | undefined;
  protected pending: { due: number; answers: Array<DnsRecord> } | undefined;
  protected lastMulticast = new Map<string, number>();
  protected outbox: Array<Transmit> = [];

  public constructor(
    advert: ServiceAdvert,
    protected random: () => number,
  ) {
    this.records = advertRecords(advert);
    this.goodbyes = advertRecords(advert, 0);
    this.uniqueNames = new Set(
      this.records.filter((r) => r.cacheFlush).map((r) => nameKey(r.name)),
    );
  }

  public start(now: number): void {
    this.state = 'probing';
    this.step = 0;
    this.stepDue = now + this.random() * probeInterval;
  }

  /** Queues goodbyes when we had announced anything; no more answers after. */
  public stop(): void {
    if (this.state === 'announcing' || this.state === 'running') {
      this.outbox.push({ message: message(true, { answers: this.goodbyes }) });
    }
    this.state = 'stopped';
    this.stepDue = undefined;
    this.pending = undefined;
  }

  public handleQuery(now: number, msg: DnsMessage, from: { host: string; port: number }): void {
    if (this.state !== 'running' && this.state !== 'announcing') return;
    const legacy = from.port !== mdnsPort;
    const answers: Array<DnsRecord> = [];
    for (const q of msg.questions) {
      for (const r of this.records) {
        if (!matches(q, r) || answers.includes(r)) continue;
        const known = msg.answers.find((k) => sameRecord(k, r));
        if (known != null && known.ttl >= r.ttl / 2) {
          this.stats.suppressedByKnownAnswer++;
          continue;
        }
        answers.push(r);
      }
    }
    if (answers.length === 0) return;
    if (legacy) {
      const capped = [...answers, ...this.additionalsFor(answers)].map((r) => ({
        ...r,
        ttl: Math.min(r.ttl, 10),
        cacheFlush: false,
      }));
      this.outbox.push({
        message: message(true, { id: msg.id, questions: msg.questions, answers: capped }),
        to: from,
      });
      this.stats.answered++;
      return;
    }
    const shared = answers.some((r) => !r.cacheFlush);
    const due = now + (shared ? 20 + this.random() * 100 : 0);
    if (this.pending == null) this.pending = { due, answers: [] };
    else this.pending.due = Math.min(this.pending.due, due);
    for (const r of answers) if (!this.pending.answers.includes(r)) this.pending.answers.push(r);
  }

  /** Checks a response for records that claim our unique names with other data. */
  public handleResponse(msg: DnsMessage): void {
    if (this.state === 'idle' || this.state === 'stopped' || this.state === 'conflict') return;
    for (const r of [...msg.answers, ...msg.additionals]) {
      if (r.ttl === 0 || !this.uniqueNames.has(nameKey(r.name))) continue;
      if (r.type !== RType.SRV && r.type !== RType.TXT) continue;
      if (this.records.some((own) => sameRecord(own, r))) continue;
      this.conflict = r;
      this.state = 'conflict';
      this.stepDue = undefined;
      this.pending = undefined;
      return;
    }
  }

  public handleTimeout(now: number): void {
    if (this.stepDue != null && this.stepDue <= now) this.nextStep(now);
    if (this.pending != null && this.pending.due <= now) {
      const answers = this.pending.answers.filter((r) => {
        const last = this.lastMulticast.get(recordKey(r));
        if (last != null && now - last < 1000) {
          this.stats.rateLimited++;
          return false;
        }
        return true;
      });
      this.pending = undefined;
      if (answers.length > 0) this.multicast(now, answers, this.additionalsFor(answers));
    }
  }

  public pollTransmit(): Transmit | undefined {
    return this.outbox.shift();
  }

  public pollTimeout(): number | undefined {
    const ts = [this.stepDue, this.pending?.due].filter((t): t is number => t != null);
    return ts.length > 0 ? Math.min(...ts) : undefined;
  }

  protected nextStep(now: number): void {
    if (this.state === 'probing') {
      const unique = this.records.filter((r) => r.cacheFlush);
      const names = [...new Set(unique.map((r) => r.name))];
      // RFC 6762 8.1: probes ask type ANY for each unique name, our proposed records in Authority.
      // Without the QU bit: a defender's answer then comes multicast, which our socket (bound to the
      // group, not to port 5353 of the host) receives; a unicast one would go to the OS responder.
      this.outbox.push({
        message: message(false, {
          questions: names.map((name) => ({ name, type: RType.ANY, qu: false })),
          authorities: unique,
        }),
      });
      this.step++;
      if (this.step < 3) {
        this.stepDue = now + probeInterval;
      } else {
        this.state = 'announcing';
        this.step = 0;
        this.stepDue = now + probeInterval;
      }
      return;
    }
    if (this.state === 'announcing') {
      this.multicast(now, this.records, []);
      this.step++;
      if (this.step < announceCount) {
        this.stepDue = now + announceInterval * 2 ** (this.step - 1);
      } else {
        this.state = 'running';
        this.stepDue = undefined;
      }
    }
  }

  /** RFC 6763 12: a PTR answer brings its SRV, TXT and addresses; an SRV its addresses. */
  protected additionalsFor(answers: ReadonlyArray<DnsRecord>): Array<DnsRecord> {
    const out: Array<DnsRecord> = [];
    const add = (r: DnsRecord) => {
      if (!answers.includes(r) && !out.includes(r)) out.push(r);
    };
    for (const a of answers) {
      if (a.type === RType.PTR && a.data.kind === 'PTR') {
        const inst = nameKey(a.data.name);
        for (const r of this.records) if (nameKey(r.name) === inst) add(r);
      }
    }
    for (const r of [...answers, ...out]) {
      if (r.data.kind !== 'SRV') continue;
      const target = nameKey(r.data.target);
      for (const h of this.records) {
        if ((h.type === RType.A || h.type === RType.AAAA) && nameKey(h.name) === target) add(h);
      }
    }
    return out;
  }

  protected multicast(now: number, answers: Array<DnsRecord>, additionals: Array<DnsRecord>): void {
    for (const r of [...answers, ...additionals]) this.lastMulticast.set(recordKey(r), now);
    this.outbox.push({ message: message(true, { answers, additionals }) });
    this.stats.answered++;
  }
}

export default Responder;
export { message, mdnsPort };
export type { Transmit, ResponderState, ResponderStats };
