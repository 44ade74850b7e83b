import type { Clock } from '@node-network/network-interface';
import type { Random } from '@node-network/netsim';
import type { Kind, Scenario } from './types.js';
import crypto from 'node:crypto';

/**
 * `n` bytes determined by `seed` alone (an AES-256-CTR keystream): transfer
 * payloads repeat from run to run without costing a JS loop per byte.
 */
function seededBytes(seed: number, n: number): Uint8Array {
  const key = crypto.createHash('sha256').update(`chaosnet/${seed}`).digest();
  const cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return new Uint8Array(cipher.update(Buffer.alloc(n)));
}

function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * The class name of a typed error (`ErrorTimeout`, `ErrorRPCTimedOut`...), or
 * undefined when the error is untyped: a plain `Error`, a `TypeError`, a
 * string. Errors that crossed a process boundary as text (`ErrorX: message`)
 * count by the name they carry.
 */
function typedErrorName(e: unknown): string | undefined {
  const name =
    typeof e === 'string' ? /^(\w+):/.exec(e)?.[1] : (e as { name?: unknown } | null)?.name;
  if (typeof name !== 'string') return undefined;
  return /^Error[A-Z0-9]\w*$/.test(name) ? name : undefined;
}

/** The error's class name and message, bounded: for the report. */
function errorParts(e: unknown): { name: string; message: string } {
  const err = e as { name?: unknown; message?: unknown } | null;
  const name = typeof err?.name === 'string' ? err.name : typeof e;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return { name, message: message.length > 400 ? `${message.slice(0, 397)}...` : message };
}

/** Resolves after `ms` on `clock` (virtual time on netsim). */
function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

/** A key of `weights` drawn with probability proportional to its weight. */
function pickWeighted<K extends string>(random: Random, weights: Record<K, number>): K {
  const entries = (Object.entries(weights) as Array<[K, number]>).filter(([, w]) => w > 0);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = random.next() * total;
  for (const [k, w] of entries) {
    x -= w;
    if (x < 0) return k;
  }
  return entries[entries.length - 1][0];
}

function pick<T>(random: Random, items: ReadonlyArray<T>): T {
  return items[random.int(0, items.length - 1)];
}

/** Fisher-Yates with the seeded source. */
function shuffle<T>(random: Random, items: ReadonlyArray<T>): Array<T> {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The kind of each node: the NAT mix's weights shared out by largest
 * remainder (every weighted kind gets a node while there are enough), then
 * shuffled by the seed.
 */
function assignKinds(scenario: Scenario, random: Random): Array<Kind> {
  const entries = (Object.entries(scenario.nat) as Array<[Kind, number]>).filter(([, w]) => w > 0);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  const n = scenario.nodes;
  const counts = entries.map(([k, w]) => ({ k, exact: (w / total) * n, c: 0 }));
  for (const e of counts) e.c = Math.floor(e.exact);
  let left = n - counts.reduce((s, e) => s + e.c, 0);
  for (const e of [...counts].sort((a, b) => b.exact - b.c - (a.exact - a.c))) {
    if (left === 0) break;
    e.c++;
    left--;
  }
  return shuffle(
    random,
    counts.flatMap((e) => Array.from({ length: e.c }, () => e.k)),
  );
}

function percentile(sorted: ReadonlyArray<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The unordered pair key of two names. */
function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export {
  seededBytes,
  sha256,
  typedErrorName,
  errorParts,
  sleep,
  pickWeighted,
  pick,
  shuffle,
  assignKinds,
  percentile,
  pairKey,
};
