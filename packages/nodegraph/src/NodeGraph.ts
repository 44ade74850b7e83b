import type { NodeId } from '@node-network/network-interface';
import { formatAddress } from '@node-network/network-interface';
import type { DBTransaction } from './db.js';
import type { DB } from './db.js';
import { dbErrors } from './db.js';
import type { Contact, ContactAddress, NodeGraphConfig, PathKind } from './types.js';
import Logger from '@matrixai/logger';
import { StartStop, ready } from '@matrixai/async-init/StartStop.js';
import * as identity from '@node-network/network-identity';
import * as events from './events.js';
import * as errors from './errors.js';
import { rangeEntries } from './rangeEntries.js';
import { bits, top, bucketIndex, flipBit, prefixRange, toBig, toKey } from './utils.js';

const configDefault: NodeGraphConfig = {
  k: 20,
  addressTtl: 7 * 24 * 3600_000,
  maxAddressFailures: 3,
  maxAddressesPerContact: 8,
  maxPendingPerBucket: 8,
  refreshInterval: 3600_000,
  gcBatchSize: 1000,
  closestRangeLimit: 4096,
};

type DB_ = InstanceType<typeof DB>;

const level = {
  contacts: ['nodegraph', 'contacts'],
  lru: ['nodegraph', 'lru'],
  counts: ['nodegraph', 'counts'],
  refreshed: ['nodegraph', 'refreshed'],
} as const;

/** An address's identity within a contact: its text form. */
const addressKey = formatAddress;

function timeKey(t: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(t))));
  return b;
}

type Pending = { nodeId: NodeId; address: ContactAddress };

/** An address to learn: its history starts now (or at `lastSeen`). */
type NewAddress = Omit<ContactAddress, 'failures' | 'lastSeen' | 'lastFailure'> & {
  lastSeen?: number;
};

interface NodeGraph extends StartStop {}
/**
 * A Kademlia-style table of contacts, persisted in @matrixai/db (RocksDB):
 * one record per contact keyed by its NodeId (so `closestNodes` walks the
 * id space by key ranges instead of scanning the table), a per-bucket
 * least-recently-seen index, and per-bucket counts, all changed together in
 * one transaction. Buckets hold at most `k` contacts; a new contact for a
 * full bucket waits for `processPendingEvictions` (ping the least recently
 * seen, evict it only if it does not answer). `gc` drops addresses that keep
 * failing or are unseen past their TTL, in short batches. Every decision is
 * an `EventNodeGraphDecision` with its reason.
 */
@StartStop({
  eventStart: events.EventNodeGraphStart,
  eventStarted: events.EventNodeGraphStarted,
  eventStop: events.EventNodeGraphStop,
  eventStopped: events.EventNodeGraphStopped,
})
class NodeGraph {
  public readonly nodeId: NodeId;
  public readonly config: NodeGraphConfig;
  protected own: bigint;
  protected db: DB_;
  protected logger: Logger;
  protected pending = new Map<number, Array<Pending>>();
  /** Contacts in the table (kept in step with the bucket counts; guides `closestNodes`). */
  protected sizeEstimate = 0;

  public constructor({
    db,
    nodeId,
    config = {},
    logger,
  }: {
    db: DB_;
    nodeId: NodeId;
    config?: Partial<NodeGraphConfig>;
    logger?: Logger;
  }) {
    this.db = db;
    this.nodeId = nodeId;
    this.own = toBig(nodeId);
    this.config = { ...configDefault, ...config };
    this.logger = logger ?? new Logger(this.constructor.name);
  }

  public async start(): Promise<void> {
    let n = 0;
    for await (const [, v] of this.db.iterator(level.counts, {
      keys: false,
      valueAsBuffer: false,
    })) {
      n += v as number;
    }
    this.sizeEstimate = n;
  }

  public async stop(): Promise<void> {
    this.pending.clear();
  }

  /** The bucket a node belongs in (0: differs from us in the last bit only; 255: in the first). */
  public bucketOf(nodeId: NodeId): number {
    const b = bucketIndex(this.own, toBig(nodeId));
    if (b == null) throw new errors.ErrorNodeGraphSelf('Our own NodeId has no bucket');
    return b;
  }

  @ready(new errors.ErrorNodeGraphNotRunning())
  public async getContact(nodeId: NodeId, tran?: DBTransaction): Promise<Contact | undefined> {
    if (tran == null) return this.db.withTransactionF((t) => this.getContact(nodeId, t));
    return (await tran.get<Contact>([...level.contacts, Buffer.from(nodeId)])) ?? undefined;
  }

  /** Contacts in `bucket`. */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async bucketSize(bucket: number, tran?: DBTransaction): Promise<number> {
    if (tran == null) return this.db.withTransactionF((t) => this.bucketSize(bucket, t));
    return (await tran.get<number>([...level.counts, Buffer.from([bucket])])) ?? 0;
  }

  /** All contacts, in NodeId order. */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async *contacts(): AsyncGenerator<Contact> {
    for await (const [, v] of this.db.iterator(level.contacts, {
      keys: false,
      valueAsBuffer: false,
    })) {
      yield v as Contact;
    }
  }

  @ready(new errors.ErrorNodeGraphNotRunning())
  public async size(): Promise<number> {
    return this.db.count(level.contacts);
  }

  /**
   * Learns an address of `nodeId` (a new contact, or one more or a refreshed
   * address of a known one). `added` / `updated`, or `pending` when the
   * node's bucket is full: it then waits for `processPendingEvictions`.
   * With `path`, a connection through the address just worked: its failures
   * are cleared and the path recorded, in the same transaction.
   */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async setAddress(
    nodeId: NodeId,
    address: NewAddress,
    now: number,
    { path }: { path?: PathKind } = {},
  ): Promise<'added' | 'updated' | 'pending'> {
    const [r] = await this.setAddresses([{ nodeId, address, path }], now);
    return r;
  }

  /**
   * `setAddress` for many at once, in one transaction (what a lookup learns
   * arrives in batches, and each transaction costs an fsync).
   */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async setAddresses(
    entries: ReadonlyArray<{ nodeId: NodeId; address: NewAddress; path?: PathKind }>,
    now: number,
  ): Promise<Array<'added' | 'updated' | 'pending'>> {
    const prepared = entries.map(({ nodeId, address, path }) => {
      const bucket = this.bucketOf(nodeId);
      validateAddress(address);
      const entry: ContactAddress = { ...address, lastSeen: address.lastSeen ?? now, failures: 0 };
      return { nodeId, bucket, entry, path };
    });
    const results = await this.write(async (tran) => {
      const out: Array<'added' | 'updated' | 'pending'> = [];
      for (const { nodeId, bucket, entry, path } of prepared) {
        out.push(await this.setAddressIn(tran, nodeId, bucket, entry, path));
      }
      return out;
    });
    for (const [i, r] of results.entries()) {
      const { nodeId, bucket, entry } = prepared[i];
      if (r === 'pending') this.queuePending(bucket, { nodeId, address: entry });
      if (r === 'added') this.sizeEstimate++;
    }
    return results;
  }

  protected async setAddressIn(
    tran: DBTransaction,
    nodeId: NodeId,
    bucket: number,
    entry: ContactAddress,
    path?: PathKind,
  ): Promise<'added' | 'updated' | 'pending'> {
    const contact = await this.getContact(nodeId, tran);
    const paths = path != null ? { [path]: entry.lastSeen } : {};
    if (contact == null) {
      if ((await this.bucketSize(bucket, tran)) >= this.config.k) return 'pending';
      await this.putContact(tran, nodeId, undefined, {
        nodeId: identity.encodeNodeId(nodeId),
        addresses: [entry],
        paths,
        lastSeen: entry.lastSeen,
        penalties: 0,
      });
      return 'added';
    }
    const next = {
      ...contact,
      addresses: [...contact.addresses],
      paths: { ...contact.paths, ...paths },
    };
    const i = next.addresses.findIndex((a) => addressKey(a) === addressKey(entry));
    if (i >= 0) {
      const known = next.addresses[i];
      next.addresses[i] = {
        ...known,
        // Seeing a known address talk to us says nothing new about where we learnt it; and an
        // address found on our own link (mDNS) stays local whoever reports it later.
        source: entry.source === 'observed' ? known.source : entry.source,
        scope: known.scope === 'local' || entry.scope === 'local' ? 'local' : 'global',
        lastSeen: Math.max(next.addresses[i].lastSeen, entry.lastSeen),
        ...(path != null ? { failures: 0 } : {}),
      };
    } else {
      next.addresses.push(entry);
      next.addresses.sort((a, b) => b.lastSeen - a.lastSeen);
      next.addresses = next.addresses.slice(0, this.config.maxAddressesPerContact);
    }
    next.lastSeen = Math.max(...next.addresses.map((a) => a.lastSeen));
    await this.putContact(tran, nodeId, contact, next);
    return 'updated';
  }

  /** A connection to `nodeId` worked (through `address`, if given, by `path`). */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async recordSuccess(
    nodeId: NodeId,
    now: number,
    { address, path }: { address?: { host: string; port: number }; path?: PathKind } = {},
  ): Promise<void> {
    await this.write(async (tran) => {
      const contact = await this.getContact(nodeId, tran);
      if (contact == null) return;
      const next: Contact = { ...contact, lastSeen: Math.max(contact.lastSeen, now) };
      if (address != null) {
        next.addresses = contact.addresses.map((a) =>
          addressKey(a) === addressKey(address) ? { ...a, lastSeen: now, failures: 0 } : a,
        );
      }
      if (path != null) next.paths = { ...contact.paths, [path]: now };
      await this.putContact(tran, nodeId, contact, next);
    });
  }

  /** A connection attempt to `address` of `nodeId` failed. */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async recordFailure(
    nodeId: NodeId,
    address: { host: string; port: number },
    now: number,
  ): Promise<void> {
    await this.write(async (tran) => {
      const contact = await this.getContact(nodeId, tran);
      if (contact == null) return;
      const next: Contact = {
        ...contact,
        addresses: contact.addresses.map((a) =>
          addressKey(a) === addressKey(address)
            ? { ...a, lastFailure: now, failures: a.failures + 1 }
            : a,
        ),
      };
      await this.putContact(tran, nodeId, contact, next);
    });
  }

  /** Counts a misbehaviour of `nodeId` (a malformed or hostile answer). */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async penalise(nodeId: NodeId): Promise<void> {
    await this.write(async (tran) => {
      const contact = await this.getContact(nodeId, tran);
      if (contact == null) return;
      await this.putContact(tran, nodeId, contact, {
        ...contact,
        penalties: contact.penalties + 1,
      });
    });
  }

  @ready(new errors.ErrorNodeGraphNotRunning())
  public async deleteContact(nodeId: NodeId, tran?: DBTransaction): Promise<boolean> {
    if (tran == null) return this.write((t) => this.deleteContact(nodeId, t));
    const contact = await this.getContact(nodeId, tran);
    if (contact == null) return false;
    const bucket = this.bucketOf(nodeId);
    await tran.del([...level.contacts, Buffer.from(nodeId)]);
    await tran.del([
      ...level.lru,
      Buffer.from([bucket]),
      timeKey(contact.lastSeen),
      Buffer.from(nodeId),
    ]);
    await tran.put(
      [...level.counts, Buffer.from([bucket])],
      (await this.bucketSize(bucket, tran)) - 1,
    );
    return true;
  }

  /** The least recently seen contacts of `bucket`, oldest first. */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async leastRecentlySeen(bucket: number, limit = 1): Promise<Array<NodeId>> {
    const out: Array<NodeId> = [];
    for await (const [k] of this.db.iterator([...level.lru, Buffer.from([bucket])], {
      limit,
      values: false,
    })) {
      out.push(new Uint8Array(k[k.length - 1] as Buffer) as NodeId);
    }
    return out;
  }

  /**
   * The `k` contacts closest to `target` by XOR distance, closest first. It
   * never scans the table: all ids sharing a longer prefix with the target
   * are closer than any sharing a shorter one, so it binary-searches the
   * prefix length whose key range still holds `k` contacts (each probe reads
   * at most `k` keys), takes the range one bit longer entirely, and fills
   * the rest from the sibling range the same way.
   */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async closestNodes(
    target: NodeId | Uint8Array,
    k = this.config.k,
  ): Promise<Array<Contact>> {
    if (target.byteLength !== bits / 8) {
      throw new errors.ErrorNodeGraphInvalidContact('A target is 32 bytes');
    }
    // Reads outside a transaction: a lookup needs no snapshot, and @matrixai/db's transactional
    // iterators cost milliseconds each.
    const found = await this.closestIds(toBig(target), Math.max(0, k));
    const out: Array<Contact> = [];
    for (const { raw } of found) {
      // As the DB stores values (JSON, encrypted when it has a key).
      out.push((await this.db.deserializeDecrypt(raw, false)) as Contact);
    }
    return out;
  }

  /** Buckets not refreshed (by a lookup landing in them) for `refreshInterval`. */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async staleBuckets(now: number): Promise<Array<number>> {
    const fresh = new Set<number>();
    for await (const [k, v] of this.db.iterator(level.refreshed, { valueAsBuffer: false })) {
      if (now - (v as number) < this.config.refreshInterval) fresh.add((k[0] as Buffer)[0]);
    }
    const out: Array<number> = [];
    for await (const [k, v] of this.db.iterator(level.counts, { valueAsBuffer: false })) {
      const b = (k[0] as Buffer)[0];
      if ((v as number) > 0 && !fresh.has(b)) out.push(b);
    }
    return out;
  }

  @ready(new errors.ErrorNodeGraphNotRunning())
  public async markRefreshed(bucket: number, now: number): Promise<void> {
    await this.db.put([...level.refreshed, Buffer.from([bucket])], now);
  }

  /**
   * Drops addresses that failed `maxAddressFailures` times in a row or were
   * unseen for `addressTtl`, and contacts left without addresses. Works in
   * batches of `gcBatchSize` contacts, each its own transaction, so reads
   * and writes of the table go on meanwhile.
   */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async gc(
    now: number,
  ): Promise<{ scanned: number; addressesDropped: number; contactsRemoved: number }> {
    let after: Buffer | undefined;
    const report = { scanned: 0, addressesDropped: 0, contactsRemoved: 0 };
    for (;;) {
      // Read the batch past `after` straight from RocksDB (no transaction: only contacts that need a
      // change are re-read and written in one).
      const raw = await rangeEntries(this.db, level.contacts, {
        gte: after == null ? undefined : Buffer.concat([after, Buffer.from([0])]),
        limit: this.config.gcBatchSize,
        values: true,
      });
      if (raw.length === 0) break;
      const batch: Array<[Buffer, Contact]> = [];
      for (const [k, v] of raw)
        batch.push([k, await this.db.deserializeDecrypt<Contact>(v, false)]);
      after = batch[batch.length - 1][0];
      report.scanned += batch.length;
      const decisions: Array<events.EventNodeGraphDecision['detail']> = [];
      await this.write(async (tran) => {
        for (const [key, seen] of batch) {
          const keep = seen.addresses.filter((a) => this.addressAlive(a, now));
          if (keep.length === seen.addresses.length) continue;
          const nodeId = new Uint8Array(key) as NodeId;
          const contact = await this.getContact(nodeId, tran);
          if (contact == null) continue;
          const alive = contact.addresses.filter((a) => this.addressAlive(a, now));
          for (const a of contact.addresses) {
            if (alive.includes(a)) continue;
            report.addressesDropped++;
            decisions.push({
              kind: 'address-dropped',
              nodeId: contact.nodeId,
              address: addressKey(a),
              reason:
                a.failures >= this.config.maxAddressFailures
                  ? `${a.failures} failures in a row, the last at ${new Date(a.lastFailure ?? 0).toISOString()}`
                  : `unseen since ${new Date(a.lastSeen).toISOString()} (TTL ${this.config.addressTtl} ms)`,
            });
          }
          if (alive.length === 0) {
            await this.deleteContact(nodeId, tran);
            report.contactsRemoved++;
            decisions.push({
              kind: 'contact-removed',
              nodeId: contact.nodeId,
              reason: 'no address left',
            });
          } else {
            await this.putContact(tran, nodeId, contact, { ...contact, addresses: alive });
          }
        }
      });
      for (const d of decisions)
        this.dispatchEvent(new events.EventNodeGraphDecision({ detail: d }));
    }
    return report;
  }

  /**
   * Kademlia's rule for full buckets: for each waiting candidate, ping the
   * bucket's least recently seen contact; evict it only if it does not
   * answer, else keep it (now most recently seen) and drop the candidate.
   * At most `concurrency` buckets at a time.
   */
  @ready(new errors.ErrorNodeGraphNotRunning())
  public async processPendingEvictions(
    ping: (nodeId: NodeId) => Promise<boolean>,
    now: () => number,
    concurrency = 3,
  ): Promise<void> {
    const buckets = [...this.pending.keys()];
    const work = async (bucket: number) => {
      for (
        let c = this.pending.get(bucket)?.shift();
        c != null;
        c = this.pending.get(bucket)?.shift()
      ) {
        const [oldest] = await this.leastRecentlySeen(bucket, 1);
        if (oldest == null) {
          await this.setAddress(c.nodeId, c.address, now());
          continue;
        }
        const oldText = identity.encodeNodeId(oldest);
        if (await ping(oldest).catch(() => false)) {
          await this.recordSuccess(oldest, now());
          this.decide(
            'kept',
            oldText,
            `answered a ping; ${identity.encodeNodeId(c.nodeId)} not added`,
          );
          this.decide(
            'candidate-dropped',
            identity.encodeNodeId(c.nodeId),
            `bucket ${bucket} is full and its oldest contact answered`,
          );
          continue;
        }
        await this.deleteContact(oldest);
        this.decide(
          'evicted',
          oldText,
          `no answer to a ping at ${new Date(now()).toISOString()}; bucket ${bucket} needed room`,
        );
        await this.setAddress(c.nodeId, c.address, now());
      }
      this.pending.delete(bucket);
    };
    for (let i = 0; i < buckets.length; i += concurrency) {
      await Promise.all(buckets.slice(i, i + concurrency).map(work));
    }
  }

  /** Candidates waiting per bucket. */
  public pendingCount(): number {
    let n = 0;
    for (const q of this.pending.values()) n += q.length;
    return n;
  }

  /**
   * A write transaction, retried when it conflicts with a concurrent one
   * (@matrixai/db's transactions are optimistic: two writers of one contact
   * make the second commit fail).
   */
  protected async write<T>(f: (tran: DBTransaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.withTransactionF(f);
      } catch (e) {
        if (!(e instanceof dbErrors.ErrorDBTransactionConflict) || attempt >= 8) throw e;
      }
    }
  }

  protected decide(
    kind: events.EventNodeGraphDecision['detail']['kind'],
    nodeId: string,
    reason: string,
  ): void {
    this.logger.debug(`${kind} ${nodeId}: ${reason}`);
    this.dispatchEvent(new events.EventNodeGraphDecision({ detail: { kind, nodeId, reason } }));
  }

  protected addressAlive(a: ContactAddress, now: number): boolean {
    if (a.failures >= this.config.maxAddressFailures) return false;
    return a.source === 'seed' || now - a.lastSeen <= this.config.addressTtl;
  }

  protected queuePending(bucket: number, p: Pending): void {
    const q = this.pending.get(bucket) ?? [];
    if (q.some((x) => Buffer.from(x.nodeId).equals(Buffer.from(p.nodeId)))) return;
    if (q.length >= this.config.maxPendingPerBucket) {
      this.decide(
        'candidate-dropped',
        identity.encodeNodeId(p.nodeId),
        `bucket ${bucket}'s waiting list is full`,
      );
      return;
    }
    q.push(p);
    this.pending.set(bucket, q);
  }

  /** Writes a contact and keeps the LRU index and the bucket count in step, in `tran`. */
  protected async putContact(
    tran: DBTransaction,
    nodeId: NodeId,
    before: Contact | undefined,
    after: Contact,
  ): Promise<void> {
    const bucket = Buffer.from([this.bucketOf(nodeId)]);
    const id = Buffer.from(nodeId);
    if (before == null) {
      await tran.put([...level.counts, bucket], (await this.bucketSize(bucket[0], tran)) + 1);
    } else if (before.lastSeen !== after.lastSeen) {
      await tran.del([...level.lru, bucket, timeKey(before.lastSeen), id]);
    }
    if (before == null || before.lastSeen !== after.lastSeen) {
      await tran.put([...level.lru, bucket, timeKey(after.lastSeen), id], Buffer.alloc(0), true);
    }
    await tran.put([...level.contacts, id], after);
  }

  /**
   * The `k` ids closest to `t` among those sharing its first `depth` bits.
   * Every id sharing `d` bits with `t` is closer than any sharing fewer, so
   * the ids of one prefix range that holds at least `k` of them, sorted by
   * XOR, answer exactly. The prefix length is guessed from the table size
   * (about 4k ids expected in range) and corrected by halving the gap between
   * a too-short and a too-long guess; usually one range read of ~80 keys.
   * A range that is crowded while the next longer one holds fewer than `k`
   * (ids clustered on one side) takes that longer range whole and fills the
   * rest from its sibling range the same way.
   */
  protected async closestIds(
    t: bigint,
    k: number,
    depth = 0,
  ): Promise<Array<{ id: bigint; raw: Buffer }>> {
    if (k <= 0) return [];
    const cap = Math.max(4 * k, this.config.closestRangeLimit);
    let tooFew = bits + 1; // shortest prefix length known to hold fewer than k
    let tooMany = depth - 1; // longest prefix length known to hold `cap` or more
    let d = Math.min(
      bits,
      Math.max(depth, Math.floor(Math.log2(Math.max(1, this.sizeEstimate) / k)) - 2),
    );
    for (;;) {
      const ids = await this.entriesIn(prefixRange(t, d), cap);
      if (ids.length >= cap) tooMany = d;
      else if (ids.length < k && d > depth) tooFew = d;
      else return sortByXor(ids, t).slice(0, k);
      if (tooFew - tooMany <= 1) break;
      d =
        tooFew > bits
          ? Math.min(bits, d + 4)
          : tooMany < depth
            ? Math.max(depth, d - 4)
            : (tooFew + tooMany) >> 1;
      if (d <= tooMany) d = tooMany + 1;
      if (d >= tooFew) d = tooFew - 1;
    }
    // R(tooMany) is crowded, R(tooMany + 1) holds fewer than k: take it whole, then the sibling.
    const inner = sortByXor(await this.entriesIn(prefixRange(t, tooMany + 1), k), t);
    const rest = await this.closestIds(flipBit(t, tooMany), k - inner.length, tooMany + 1);
    return [...inner, ...rest];
  }

  protected async entriesIn(
    { lo, hi }: { lo: bigint; hi: bigint },
    limit: number,
  ): Promise<Array<{ id: bigint; raw: Buffer }>> {
    const entries = await rangeEntries(this.db, level.contacts, {
      gte: toKey(lo),
      lt: hi < top ? toKey(hi) : undefined,
      limit,
      values: true,
    });
    return entries.map(([k, raw]) => ({ id: toBig(k), raw }));
  }
}

function sortByXor<T extends { id: bigint }>(entries: Array<T>, t: bigint): Array<T> {
  return entries.sort((a, b) => {
    const da = a.id ^ t;
    const db = b.id ^ t;
    return da < db ? -1 : da > db ? 1 : 0;
  });
}

function validateAddress(a: { host: unknown; port: unknown }): void {
  if (typeof a.host !== 'string' || a.host.length === 0 || a.host.length > 253) {
    throw new errors.ErrorNodeGraphInvalidContact(`Invalid host ${String(a.host).slice(0, 64)}`);
  }
  if (!Number.isInteger(a.port) || (a.port as number) < 1 || (a.port as number) > 65535) {
    throw new errors.ErrorNodeGraphInvalidContact(`Invalid port ${String(a.port)}`);
  }
}

export default NodeGraph;
export { configDefault as nodeGraphConfigDefault, addressKey };
export type { NewAddress };
