// NodeGraph at 10k, 100k and 1M contacts (real RocksDB via @matrixai/db): insert, update,
// closestNodes(k = 20) and a full GC pass; p50 and p99 per operation, and RSS. Buckets are
// unbounded here (k = 1e9): a Kademlia table with k = 20 holds about 20 x log2(n) contacts, so the
// scale figures are for the store a seed or relay node may keep. Each size runs in its own process.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Logger, { LogLevel } from '@matrixai/logger';
import { NodeGraph, DB } from '../../../packages/nodegraph/dist/index.js';
import { percentile, writeResults } from '../../lib.mjs';

const self = fileURLToPath(import.meta.url);
const logger = new Logger('bench', LogLevel.WARN);

function stats(samples) {
  return {
    ops: samples.length,
    p50Us: +(percentile(samples, 50) * 1000).toFixed(1),
    p99Us: +(percentile(samples, 99) * 1000).toFixed(1),
  };
}

async function runSize(n) {
  const dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'nodegraph-bench-'));
  const db = await DB.createDB({ dbPath, logger });
  const own = randomBytes(32);
  const g = new NodeGraph({ db, nodeId: own, config: { k: 1e9, addressTtl: 1000 }, logger });
  await g.start();
  const ids = Array.from({ length: n }, () => randomBytes(32));
  const address = (i) => ({
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 1314,
    family: 'ipv4',
    source: 'lookup',
    scope: 'global',
  });
  // Build the table in batches of 1000 per transaction (as lookups deliver contacts); every tenth
  // contact is stale (seen at time 0), the rest fresh at time 5000.
  const t0 = performance.now();
  const sample = 2000;
  for (let i = 0; i < n - sample; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(i + 1000, n - sample); j++) {
      batch.push({ nodeId: ids[j], address: { ...address(j), lastSeen: j % 10 === 0 ? 0 : 5000 } });
    }
    await g.setAddresses(batch, 5000);
  }
  const bulkWallS = (performance.now() - t0) / 1000;
  // The last contacts one transaction each: the latency of a single insert.
  const insert = [];
  for (let i = n - sample; i < n; i++) {
    const s = performance.now();
    await g.setAddress(ids[i], address(i), i % 10 === 0 ? 0 : 5000);
    insert.push(performance.now() - s);
  }
  const update = [];
  for (let j = 0; j < 2000; j++) {
    const i = Math.floor(Math.random() * n);
    if (i % 10 === 0) continue;
    const s = performance.now();
    await g.setAddress(ids[i], address(i), 5000 + j);
    update.push(performance.now() - s);
  }
  const closest = [];
  for (let j = 0; j < 1000; j++) {
    const target = randomBytes(32);
    const s = performance.now();
    const r = await g.closestNodes(target, 20);
    closest.push(performance.now() - s);
    if (r.length !== 20) throw new Error(`closestNodes gave ${r.length}`);
  }
  const s = performance.now();
  const gc = await g.gc(5500);
  const gcMs = performance.now() - s;
  const result = {
    contacts: n,
    bulkInsert: { contactsPerSecond: Math.round((n - sample) / bulkWallS), batch: 1000 },
    insert: stats(insert),
    update: stats(update),
    closestNodes: stats(closest),
    gcPass: {
      ms: Math.round(gcMs),
      ...gc,
      contactsPerSecond: Math.round(gc.scanned / (gcMs / 1000)),
    },
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    dbMiB: Math.round(
      fs.readdirSync(dbPath, { recursive: true }).reduce((a, f) => {
        const p = path.join(dbPath, f);
        return a + (fs.statSync(p).isFile() ? fs.statSync(p).size : 0);
      }, 0) /
        2 ** 20,
    ),
  };
  await g.stop();
  await db.stop();
  fs.rmSync(dbPath, { recursive: true, force: true });
  return result;
}

export async function run() {
  const sizes = (process.env.NODEGRAPH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
  const results = [];
  for (const n of sizes) {
    const out = execFileSync(process.execPath, [self, String(n)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    const r = JSON.parse(out.trim().split('\n').pop());
    console.log(JSON.stringify(r));
    results.push(r);
  }
  console.log(`wrote ${writeResults('nodegraph', { results })}`);
}

if (process.argv[1] === self) {
  const r = await runSize(Number(process.argv[2]));
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
