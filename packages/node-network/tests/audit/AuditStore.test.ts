import type { AuditRecord } from '@node-network/transport';
import type { Clock } from '@node-network/network-interface';
import { describe, test, expect, afterEach, jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Logger, { LogLevel } from '@matrixai/logger';
import { DB } from '@node-network/nodegraph';
import AuditStore from '../../src/audit/AuditStore.js';

const logger = new Logger('test', LogLevel.ERROR);

/** Wall time the test sets; timers never fire (the tests prune by hand). */
class ManualClock implements Clock {
  public t = 1_800_000_000_000;
  public now(): number {
    return this.t;
  }
  public wallTime(): number {
    return this.t;
  }
  public setTimer(delay: number) {
    return { due: this.t + delay, cancel: () => {} };
  }
}

const dirs: Array<string> = [];
const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.stop().catch(() => {});
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function openStore(
  dir: string,
  clock: Clock,
  config: ConstructorParameters<typeof AuditStore>[0]['config'] = {},
) {
  const db = await DB.createDB({ dbPath: dir, logger: logger.getChild('DB') as any });
  const store = new AuditStore({ db, clock, config, logger });
  await store.start();
  open.push(db, store);
  return { db, store };
}

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-audit-'));
  dirs.push(d);
  return d;
}

const peers = ['vpeer-a', 'vpeer-b', 'vpeer-c'];
const kinds: Array<AuditRecord['kind']> = ['dial-attempt', 'dial-result', 'signal'];

function records(n: number, t0: number): Array<AuditRecord> {
  return Array.from({ length: n }, (_, i) => ({
    time: t0 + i * 1000,
    kind: kinds[i % 3],
    nodeId: peers[Math.floor(i / 3) % 3],
    outcome: i % 2 === 0 ? ('ok' as const) : ('failed' as const),
    detail: `record ${i}`,
  }));
}

describe('AuditStore on RocksDB', () => {
  test('queries by peer, kind and time; newest `limit`, oldest first', async () => {
    const clock = new ManualClock();
    const { store } = await openStore(tmp(), clock);
    const rs = records(90, clock.t);
    for (const r of rs) store.append(r);
    const byPeer = await store.query({ nodeId: 'vpeer-b' });
    expect(byPeer).toEqual(rs.filter((r) => r.nodeId === 'vpeer-b'));
    expect(await store.query({ kinds: ['signal'] })).toEqual(rs.filter((r) => r.kind === 'signal'));
    expect(await store.query({ kinds: ['signal', 'dial-attempt'], limit: 4 })).toEqual(
      rs.filter((r) => r.kind !== 'dial-result').slice(-4),
    );
    const since = clock.t + 10_000;
    const until = clock.t + 20_000;
    expect(await store.query({ since, until })).toEqual(
      rs.filter((r) => r.time >= since && r.time < until),
    );
    expect(
      await store.query({ nodeId: 'vpeer-a', kinds: ['dial-result'], since, limit: 2 }),
    ).toEqual(
      rs
        .filter((r) => r.nodeId === 'vpeer-a' && r.kind === 'dial-result' && r.time >= since)
        .slice(-2),
    );
    expect(await store.query({ nodeId: 'nobody' })).toEqual([]);
    expect(store.stats()).toMatchObject({ stored: 90, appended: 90, corrupt: 0, writeErrors: 0 });
  });

  test('records survive a restart; new ones follow the old ones', async () => {
    const clock = new ManualClock();
    const dir = tmp();
    const first = await openStore(dir, clock);
    const rs = records(30, clock.t);
    for (const r of rs) first.store.append(r);
    await first.store.stop();
    await first.db.stop();
    const second = await openStore(dir, clock);
    expect(second.store.stats().stored).toBe(30);
    expect(await second.store.query({})).toEqual(rs);
    // Same millisecond as the last old record: the sequence keeps it after.
    const late = {
      time: rs[29].time,
      kind: 'relay' as const,
      nodeId: 'vpeer-a',
      detail: 'after restart',
    };
    second.store.append(late);
    const all = await second.store.query({});
    expect(all.at(-1)).toEqual(late);
    expect(all).toHaveLength(31);
  });

  test('retention by count keeps the newest, index entries go with their records', async () => {
    const clock = new ManualClock();
    const { db, store } = await openStore(tmp(), clock, { maxRecords: 100 });
    const rs = records(300, clock.t);
    for (const r of rs) store.append(r);
    await store.flush();
    // One write of 300 prunes 200 (pruneBatch 256).
    expect(store.stats().stored).toBe(100);
    expect(await store.query({ limit: 1000 })).toEqual(rs.slice(200));
    expect(await db.count(['audit', 'records'])).toBe(100);
    expect(await db.count(['audit', 'kind'])).toBe(100);
    expect(await db.count(['audit', 'peer'])).toBe(100);
    expect(await store.query({ nodeId: 'vpeer-a' })).toEqual(
      rs.slice(200).filter((r) => r.nodeId === 'vpeer-a'),
    );
  });

  test('retention by age, pruned a bounded batch per write', async () => {
    const clock = new ManualClock();
    const { store } = await openStore(tmp(), clock, { maxAgeMs: 60_000, pruneBatch: 10 });
    const rs = records(100, clock.t - 200_000); // 100 s of records, the first 200 s ago
    for (const r of rs) store.append(r);
    await store.flush();
    // The write pruned at most one batch.
    expect(store.stats().pruned).toBe(10);
    let rounds = 0;
    while ((await store.prune()) > 0) rounds++;
    // The other 90, all older than 60 s, went 10 at a time.
    expect(rounds).toBe(9);
    expect(await store.query({})).toEqual([]);
    store.append({ time: clock.t, kind: 'signal', detail: 'fresh' });
    expect(await store.query({})).toHaveLength(1);
    expect(store.stats().stored).toBe(1);
  });

  test('corrupt stored values and keys are skipped with a warning, never thrown', async () => {
    const clock = new ManualClock();
    const dir = tmp();
    const { db, store } = await openStore(dir, clock);
    const rs = records(9, clock.t);
    for (const r of rs) store.append(r);
    await store.flush();
    const keys: Array<Buffer> = [];
    for await (const [k] of db.iterator(['audit', 'records'], { values: false }))
      keys.push(k[0] as Buffer);
    await db.put(['audit', 'records', keys[0]], Buffer.from('\x00garbage{'), true);
    await db.put(['audit', 'records', keys[1]], { v: 1, time: 'yesterday', kind: 'signal' });
    await db.put(['audit', 'records', keys[2]], { v: 99 });
    await db.put(['audit', 'records', Buffer.from('short')], { v: 1, time: 1, kind: 'signal' });
    const warn = jest.spyOn(logger, 'warn');
    try {
      const all = await store.query({});
      expect(all).toEqual(rs.slice(3));
      expect(await store.query({ nodeId: rs[0].nodeId })).toEqual(
        rs.slice(3).filter((r) => r.nodeId === rs[0].nodeId),
      );
      expect(store.stats().corrupt).toBeGreaterThanOrEqual(4);
      expect(warn.mock.calls.some(([m]) => /Skipped the audit record/.test(String(m)))).toBe(true);
      // Pruning deletes the corrupt ones too; their index entries dangle until a query deletes them.
      await store.stop();
      const again = new AuditStore({ db, clock, config: { maxRecords: 3 }, logger });
      await again.start();
      open.push(again);
      // Corrupt state: recounted from the records.
      await db.put(['audit', 'meta', 'state'], Buffer.from('not json'), true);
      await again.stop();
      await again.start();
      expect(again.stats().stored).toBe(10);
      await again.prune();
      // The 7 oldest went (3 of them corrupt); the short key sorts last and stays, skipped.
      expect(await again.query({})).toEqual(rs.slice(7));
      expect(await db.count(['audit', 'peer'])).toBe(5);
      await again.query({ nodeId: rs[0].nodeId });
      await again.flush();
      expect(await db.count(['audit', 'peer'])).toBe(2);
    } finally {
      warn.mockRestore();
    }
  });

  test('measured: 10,000 records written, a peer of 100 records explained among them', async () => {
    const clock = new ManualClock();
    const { store } = await openStore(tmp(), clock);
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) {
      store.append({
        time: clock.t + i,
        kind: 'dial-attempt',
        nodeId: i % 100 === 0 ? 'vneedle' : `vpeer-${i % 97}`,
        address: '127.0.0.1:1314',
      });
    }
    await store.flush();
    const write = performance.now() - t0;
    const t1 = performance.now();
    const needle = await store.query({ nodeId: 'vneedle' });
    const read = performance.now() - t1;
    expect(needle).toHaveLength(100);
    // Once full, each append prunes one: the store stays at its limit.
    for (let i = 0; i < 50; i++) store.append({ time: clock.t + 10_000 + i, kind: 'signal' });
    await store.flush();
    expect(store.stats().stored).toBe(10_000);
    console.log(
      `audit store: 10,000 appends written in ${write.toFixed(0)} ms; a peer's 100 records read in ${read.toFixed(1)} ms`,
    );
  });
});
