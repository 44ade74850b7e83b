import type { Clock } from '@node-network/network-interface';
import type { AuditRecord } from '@node-network/transport';
import type { DB } from '@node-network/nodegraph';
import type { AuditQuery } from './auditQuery.js';
import Logger from '@matrixai/logger';
import { StartStop, ready } from '@matrixai/async-init/StartStop.js';
import { rangeEntries } from '@node-network/nodegraph';
import {
  decodeAuditRecordBytes,
  encodeAuditRecord,
  parseRecordKey,
  recordKey,
  timeBound,
} from './auditCodec.js';
import { matchesAuditQuery, queryLimit } from './auditQuery.js';
import * as events from '../events.js';
import * as errors from '../errors.js';

type DBOp = Parameters<DB['batch']>[0][number];
type DBOps = Array<DBOp>;
type KeyPath = Array<string | Buffer>;

type AuditStoreConfig = {
  /** Keep at most this many records (the oldest go first). */
  maxRecords: number;
  /** Drop records older than this, ms of wall-clock time. */
  maxAgeMs: number;
  /** At most this many records are pruned per write (so each write stays cheap). */
  pruneBatch: number;
  /** How often an idle store checks for records past `maxAgeMs`, ms. */
  pruneInterval: number;
};

const auditStoreConfigDefault: AuditStoreConfig = {
  maxRecords: 10_000,
  maxAgeMs: 7 * 24 * 3600_000,
  pruneBatch: 256,
  pruneInterval: 60_000,
};

/** Records of one write batch at most. */
const writeBatch = 1_000;
/** Entries read from RocksDB at a time. */
const readPage = 256;
/** The index keys a NodeId text up to this length (longer ones are stored, not indexed). */
const maxIndexedNodeId = 256;

const level: Record<'records' | 'peer' | 'kind' | 'meta', Array<string>> = {
  records: ['audit', 'records'],
  peer: ['audit', 'peer'],
  kind: ['audit', 'kind'],
  meta: ['audit', 'meta'],
};
const stateKey = [...level.meta, 'state'];

type AuditStoreStats = {
  /** Records in the store now. */
  stored: number;
  /** Records appended since start. */
  appended: number;
  /** Records pruned (count or age) since start. */
  pruned: number;
  /** Stored records skipped because they did not decode. */
  corrupt: number;
  /** Writes that failed (their records are lost; logged). */
  writeErrors: number;
};

interface AuditStore extends StartStop {}
/**
 * The node's audit records in @matrixai/db (beside the NodeGraph, under its
 * own `audit` level): each record keyed by time and sequence, indexed by
 * peer NodeId and by kind (so `explain` reads one peer's records without a
 * scan), retention by count and age pruned a bounded batch at a time after
 * each write (and every `pruneInterval` when idle). `append` is synchronous
 * and never fails: records queue and are written in batches, in order. A
 * stored value that does not decode is skipped with a warning (and counted
 * in `stats().corrupt`), never thrown at the reader.
 */
@StartStop({
  eventStart: events.EventAuditStoreStart,
  eventStarted: events.EventAuditStoreStarted,
  eventStop: events.EventAuditStoreStop,
  eventStopped: events.EventAuditStoreStopped,
})
class AuditStore {
  public readonly config: AuditStoreConfig;
  protected db: DB;
  protected clock: Clock;
  protected logger: Logger;
  protected seq = 0;
  protected count = 0;
  /** Time of the oldest stored record, when known (undefined: read it at the next prune). */
  protected oldestTime?: number;
  protected pending: Array<AuditRecord> = [];
  /** Index entries whose record is gone (found by queries), to delete. */
  protected dangling: Array<KeyPath> = [];
  protected writing?: Promise<void>;
  protected pruneTimer?: { cancel(): void };
  protected counters = { appended: 0, pruned: 0, corrupt: 0, writeErrors: 0 };
  /** Between the end of `start` and `stop`: appends are written as they come. */
  protected started = false;

  public constructor({
    db,
    clock,
    config = {},
    logger,
  }: {
    db: DB;
    clock: Clock;
    config?: Partial<AuditStoreConfig>;
    logger?: Logger;
  }) {
    this.db = db;
    this.clock = clock;
    this.config = { ...auditStoreConfigDefault, ...config };
    if (!(this.config.maxRecords >= 1) || !(this.config.maxAgeMs > 0)) {
      throw new errors.ErrorNodeNetworkConfig(
        'audit: maxRecords >= 1 and maxAgeMs > 0 are required',
      );
    }
    this.logger = logger ?? new Logger(this.constructor.name);
  }

  public async start(): Promise<void> {
    const state = await this.db.get<{ seq?: unknown; count?: unknown }>(stateKey).catch(() => {
      this.logger.warn('The audit store state does not decode; counting the records again');
      return undefined;
    });
    if (
      state != null &&
      Number.isSafeInteger(state.seq) &&
      Number.isSafeInteger(state.count) &&
      (state.count as number) >= 0
    ) {
      this.seq = state.seq as number;
      this.count = state.count as number;
    } else {
      // First start on this DB, or its state was lost: read it from the records.
      this.count = 0;
      for await (const page of this.pages(level.records, {}, false, false))
        this.count += page.length;
      const [last] = await rangeEntries(this.db, level.records, { limit: 1, reverse: true });
      this.seq = last != null ? (this.keyOf(last[0])?.seq ?? 0) : 0;
    }
    this.oldestTime = undefined;
    this.started = true;
    this.schedulePrune();
    // Records appended before start.
    if (this.pending.length > 0) this.kick();
  }

  public async stop(): Promise<void> {
    this.pruneTimer?.cancel();
    this.pruneTimer = undefined;
    await this.flush();
    this.started = false;
  }

  /** Queues a record to be written (in order, batched). */
  public append(record: AuditRecord): void {
    this.pending.push(record);
    this.counters.appended++;
    if (this.started) this.kick();
  }

  /** Resolves once every record appended so far is written (or failed to be). */
  public async flush(): Promise<void> {
    if (this.pending.length > 0 && this.started) this.kick();
    while (this.writing != null) await this.writing;
  }

  public stats(): AuditStoreStats {
    return { stored: this.count, ...this.counters };
  }

  /**
   * The newest `limit` records matching `q`, oldest first. By NodeId or by
   * kinds it reads those indexes; otherwise the time range of records.
   */
  @ready(new errors.ErrorNodeNetworkAudit('The audit store is not running'))
  public async query(q: AuditQuery = {}): Promise<Array<AuditRecord>> {
    await this.flush();
    const limit = queryLimit(q);
    const range = {
      ...(q.since != null ? { gte: timeBound(q.since) } : {}),
      ...(q.until != null ? { lt: timeBound(Math.floor(q.until) + 1) } : {}),
    };
    let found: Array<[Buffer, AuditRecord]> = [];
    if (q.nodeId != null) {
      if (q.nodeId.length === 0 || q.nodeId.length > maxIndexedNodeId) return [];
      found = await this.fromIndex([...level.peer, q.nodeId], range, limit, q);
    } else if (q.kinds != null) {
      for (const kind of new Set(q.kinds)) {
        found.push(...(await this.fromIndex([...level.kind, kind], range, limit, q)));
      }
      found.sort(([a], [b]) => Buffer.compare(b, a));
      found = found.slice(0, limit);
    } else {
      scan: for await (const page of this.pages(level.records, range, true)) {
        for (const [k, v] of page) {
          const key = this.keyOf(k);
          const r = key != null ? await this.decode(k, v) : undefined;
          if (r != null && matchesAuditQuery(r, q)) found.push([k, r]);
          if (found.length >= limit) break scan;
        }
      }
    }
    if (this.dangling.length > 0) this.kick();
    return found.map(([, r]) => r).reverse();
  }

  /** Prunes now (one bounded batch); returns how many records went. */
  @ready(new errors.ErrorNodeNetworkAudit('The audit store is not running'))
  public async prune(): Promise<number> {
    await this.flush();
    const before = this.counters.pruned;
    this.writing = this.pruneStep().finally(() => (this.writing = undefined));
    await this.writing;
    return this.counters.pruned - before;
  }

  /**
   * Entries of `levelPath` in `range`, a page at a time, newest first
   * (oldest first unless `reverse`). Straight on RocksDB's iterator (see
   * `rangeEntries`: @matrixai/db's own iterator costs about a millisecond an
   * entry here).
   */
  protected async *pages(
    levelPath: Array<string>,
    range: { gte?: Buffer; lt?: Buffer },
    values: boolean,
    reverse = true,
    size = readPage,
  ): AsyncGenerator<Array<[Buffer, Buffer]>> {
    let { gte, lt } = range;
    for (;;) {
      const page = await rangeEntries(this.db, levelPath, {
        gte,
        lt,
        limit: size,
        values,
        reverse,
      });
      if (page.length > 0) yield page;
      if (page.length < size) return;
      const last = page[page.length - 1][0];
      if (reverse) lt = last;
      else gte = Buffer.concat([last, Buffer.from([0])]);
    }
  }

  /** Records through an index (newest first), with their keys: a page of keys, then their records at once. */
  protected async fromIndex(
    indexPath: Array<string>,
    range: { gte?: Buffer; lt?: Buffer },
    limit: number,
    q: AuditQuery,
  ): Promise<Array<[Buffer, AuditRecord]>> {
    const out: Array<[Buffer, AuditRecord]> = [];
    for await (const page of this.pages(indexPath, range, false, true, Math.min(readPage, limit))) {
      const raws = await Promise.all(page.map(([k]) => this.db.get([...level.records, k], true)));
      for (let i = 0; i < page.length; i++) {
        const k = page[i][0];
        const raw = raws[i];
        if (raw == null) {
          // Its record was pruned while undecodable (so this entry was not found then).
          if (this.dangling.length < writeBatch) this.dangling.push([...indexPath, k]);
          continue;
        }
        const r = this.keyOf(k) != null ? await this.decode(k, raw, false) : undefined;
        if (r != null && matchesAuditQuery(r, q)) out.push([k, r]);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  protected keyOf(key: Buffer): { time: number; seq: number } | undefined {
    try {
      return parseRecordKey(key);
    } catch {
      this.counters.corrupt++;
      this.logger.warn(`Skipped an audit key that does not decode (${key.byteLength} bytes)`);
      return undefined;
    }
  }

  /** A stored value (`stored`: as RocksDB holds it, else already decrypted) to a record, or undefined. */
  protected async decode(
    key: Buffer,
    raw: Buffer,
    stored = true,
  ): Promise<AuditRecord | undefined> {
    try {
      return decodeAuditRecordBytes(stored ? await this.db.deserializeDecrypt(raw, true) : raw);
    } catch (e) {
      this.counters.corrupt++;
      this.logger.warn(`Skipped the audit record ${key.toString('hex')}: ${(e as Error).message}`);
      return undefined;
    }
  }

  protected kick(): void {
    if (this.writing != null) return;
    // From the next microtask: the records appended in this turn go in one batch.
    this.writing = Promise.resolve()
      .then(() => this.drain())
      .finally(() => {
        this.writing = undefined;
        if ((this.pending.length > 0 || this.dangling.length > 0) && this.started) this.kick();
      });
  }

  protected async drain(): Promise<void> {
    while (this.pending.length > 0 || this.dangling.length > 0) {
      const batch = this.pending.splice(0, writeBatch);
      const dangling = this.dangling.splice(0);
      try {
        await this.write(batch, dangling);
        await this.pruneStep();
      } catch (e) {
        this.counters.writeErrors++;
        this.logger.warn(`Could not write ${batch.length} audit records: ${(e as Error).message}`);
      }
    }
  }

  protected async write(batch: Array<AuditRecord>, dangling: Array<KeyPath>): Promise<void> {
    const ops: DBOps = dangling.map((keyPath) => ({ type: 'del', keyPath }));
    const seq0 = this.seq;
    for (const r of batch) {
      const key = recordKey(r.time, ++this.seq);
      ops.push({ type: 'put', keyPath: [...level.records, key], value: encodeAuditRecord(r) });
      ops.push(indexPut([...level.kind, r.kind, key]));
      if (r.nodeId != null && r.nodeId.length > 0 && r.nodeId.length <= maxIndexedNodeId) {
        ops.push(indexPut([...level.peer, r.nodeId, key]));
      }
    }
    const count = this.count + batch.length;
    ops.push({ type: 'put', keyPath: stateKey, value: { seq: this.seq, count } });
    try {
      await this.db.batch(ops);
    } catch (e) {
      this.seq = seq0;
      throw e;
    }
    this.count = count;
  }

  /**
   * Deletes the oldest records past `maxRecords`, then those older than
   * `maxAgeMs`, at most `pruneBatch` of them, with their index entries.
   */
  protected async pruneStep(): Promise<void> {
    const cutoff = this.clock.wallTime() - this.config.maxAgeMs;
    const excess = this.count - this.config.maxRecords;
    if (this.count === 0) return;
    if (excess <= 0 && this.oldestTime != null && this.oldestTime >= cutoff) return;
    const ops: DBOps = [];
    let removed = 0;
    let survivor: number | undefined;
    const oldest = await rangeEntries(this.db, level.records, {
      limit: this.config.pruneBatch,
      values: true,
    });
    for (const [key, v] of oldest) {
      let time = -Infinity;
      try {
        time = parseRecordKey(key).time;
      } catch {
        // A key that does not decode goes with the old ones.
      }
      if (removed >= excess && time >= cutoff) {
        survivor = time;
        break;
      }
      ops.push({ type: 'del', keyPath: [...level.records, key] });
      try {
        const r = decodeAuditRecordBytes(await this.db.deserializeDecrypt(v, true));
        ops.push({ type: 'del', keyPath: [...level.kind, r.kind, key] });
        if (r.nodeId != null && r.nodeId.length > 0 && r.nodeId.length <= maxIndexedNodeId) {
          ops.push({ type: 'del', keyPath: [...level.peer, r.nodeId, key] });
        }
      } catch {
        // Its index entries are found dangling by queries and deleted then.
      }
      removed++;
    }
    this.oldestTime = survivor;
    if (removed === 0) return;
    const count = Math.max(0, this.count - removed);
    ops.push({ type: 'put', keyPath: stateKey, value: { seq: this.seq, count } });
    await this.db.batch(ops);
    this.count = count;
    this.counters.pruned += removed;
  }

  protected schedulePrune(): void {
    this.pruneTimer = this.clock.setTimer(this.config.pruneInterval, () => {
      if (!this.started) return;
      if (this.writing == null) {
        this.writing = this.pruneStep()
          .catch((e) => this.logger.warn(`Audit pruning failed: ${(e as Error).message}`))
          .finally(() => (this.writing = undefined));
      }
      this.schedulePrune();
    });
  }
}

function indexPut(keyPath: KeyPath): DBOp {
  return { type: 'put', keyPath, value: Buffer.alloc(0), raw: true };
}

export default AuditStore;
export { auditStoreConfigDefault };
export type { AuditStoreConfig, AuditStoreStats };
