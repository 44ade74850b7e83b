import type { Address, Clock, DatagramPort } from '@node-network/network-interface';
import type { FilteringClass } from '../nat/types.js';
import type { ReplyFrom } from './messages.js';
import crypto from 'node:crypto';
import { errors as baseErrors } from '@node-network/network-interface';
import { decodeProbeMessage, encodeProbeMessage, nonceLength } from './messages.js';
import { ErrorNATProbeUnanswered } from './errors.js';

type FilteringResult = {
  /** The answer from the endpoint we sent to arrived. */
  same: boolean;
  /** From another port of the server's host (undefined: the server has none). */
  otherPort?: boolean;
  /** From another IP of the server's machine (undefined: the server has none). */
  otherHost?: boolean;
  /** Where the server saw us. */
  observed?: Address;
};

type MappingLifetimeResult = {
  /** The longest idle interval after which the mapping still answered, ms (0: none did). */
  aliveAt: number;
  /** The shortest idle interval after which it was gone, ms (undefined: none tested was). */
  deadAt?: number;
  /**
   * Keepalive interval to use, ms: 0.8 x `aliveAt` (when even the shortest
   * interval failed, half of `deadAt`; when none failed, 0.8 x the longest
   * tested interval, a lower bound).
   */
  recommendedKeepAliveMs: number;
};

type Random = (n: number) => Uint8Array;
const defaultRandom: Random = (n) => new Uint8Array(crypto.randomBytes(n));

/** What one filtering test says about the NAT in front of us (`unknown` when it cannot tell). */
function filteringFrom(r: FilteringResult): FilteringClass {
  if (!r.same) return 'unknown';
  if (r.otherHost === true) return 'endpoint-independent';
  if (r.otherPort === true) return r.otherHost === false ? 'address-dependent' : 'unknown';
  if (r.otherPort === false) return 'address-and-port-dependent';
  return 'unknown';
}

function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new baseErrors.ErrorCancelled('NAT probe cancelled', { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      t.cancel();
      reject(new baseErrors.ErrorCancelled('NAT probe cancelled', { cause: signal?.reason }));
    };
    const t = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends one probe from `port` (which must be fresh: its mapping has seen
 * only the server's main endpoint) asking for answers from every endpoint
 * the server has, `attempts` times over `timeoutMs`, and reports which
 * answers arrived. Over a NAT, another port's answer passes only
 * address-dependent or looser filtering; another IP's only
 * endpoint-independent filtering.
 */
async function probeFiltering({
  clock,
  port,
  server,
  capabilities,
  timeoutMs = 2_000,
  attempts = 3,
  random = defaultRandom,
  signal,
}: {
  clock: Clock;
  port: DatagramPort;
  server: Address;
  capabilities: ReadonlyArray<ReplyFrom>;
  timeoutMs?: number;
  attempts?: number;
  random?: Random;
  signal?: AbortSignal;
}): Promise<FilteringResult> {
  const nonce = random(nonceLength);
  const wanted: Array<ReplyFrom> = ['same', ...capabilities.filter((c) => c !== 'same')];
  const got = new Set<ReplyFrom>();
  let observed: Address | undefined;
  const off = port.onDatagram((data) => {
    try {
      const m = decodeProbeMessage(data);
      if (m.type !== 'answer' || !Buffer.from(m.nonce).equals(Buffer.from(nonce))) return;
      got.add(m.from);
      if (m.from === 'same') observed = m.observed;
    } catch {
      // Not an answer to us: ignore.
    }
  });
  try {
    const request = encodeProbeMessage({ type: 'probe', nonce, replyFrom: wanted, delayMs: 0 });
    const step = timeoutMs / Math.max(1, attempts);
    for (let i = 0; i < attempts && got.size < wanted.length; i++) {
      await port.send(request, server);
      await sleep(clock, step, signal);
    }
  } finally {
    off();
  }
  const has = (c: ReplyFrom) => (capabilities.includes(c) ? got.has(c) : undefined);
  return {
    same: got.has('same'),
    otherPort: has('other-port'),
    otherHost: has('other-host'),
    observed,
  };
}

/**
 * Whether a mapping idle for `idleMs` still lets the server's answer in:
 * from a fresh port, one request answered at once (the path works) and one
 * answered after `idleMs`.
 */
async function mappingSurvives(
  clock: Clock,
  port: DatagramPort,
  server: Address,
  idleMs: number,
  timeoutMs: number,
  random: Random,
  signal?: AbortSignal,
): Promise<boolean> {
  const now = random(nonceLength);
  const later = random(nonceLength);
  const got = new Set<string>();
  const off = port.onDatagram((data) => {
    try {
      const m = decodeProbeMessage(data);
      if (m.type === 'answer') got.add(Buffer.from(m.nonce).toString('hex'));
    } catch {
      // ignore
    }
  });
  const has = (n: Uint8Array) => got.has(Buffer.from(n).toString('hex'));
  try {
    const nowReq = encodeProbeMessage({
      type: 'probe',
      nonce: now,
      replyFrom: ['same'],
      delayMs: 0,
    });
    for (let i = 0; i < 3 && !has(now); i++) {
      await port.send(nowReq, server);
      await sleep(clock, timeoutMs / 3, signal);
    }
    if (!has(now)) {
      throw new ErrorNATProbeUnanswered(
        `The probe server at ${server.host}:${server.port} did not answer`,
      );
    }
    // The mapping is idle from here: the delayed request is the last packet we send.
    await port.send(
      encodeProbeMessage({ type: 'probe', nonce: later, replyFrom: ['same'], delayMs: idleMs }),
      server,
    );
    await sleep(clock, idleMs + timeoutMs, signal);
    return has(later);
  } finally {
    off();
  }
}

/**
 * Measures how long our NAT keeps an idle UDP mapping: for each interval a
 * fresh port (a fresh mapping) asks the server to answer after that much
 * silence. Intervals run in parallel; the result brackets the lifetime
 * between the longest interval answered and the shortest one not answered
 * (checked twice, so one lost datagram does not shorten it).
 */
async function probeMappingLifetime({
  clock,
  bindFresh,
  server,
  intervals = [5_000, 15_000, 30_000, 60_000, 120_000, 300_000],
  timeoutMs = 2_000,
  random = defaultRandom,
  signal,
}: {
  clock: Clock;
  bindFresh: () => Promise<DatagramPort>;
  server: Address;
  intervals?: ReadonlyArray<number>;
  timeoutMs?: number;
  random?: Random;
  signal?: AbortSignal;
}): Promise<MappingLifetimeResult> {
  const sorted = [...intervals].sort((a, b) => a - b);
  const check = async (idle: number): Promise<boolean> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const port = await bindFresh();
      try {
        if (await mappingSurvives(clock, port, server, idle, timeoutMs, random, signal))
          return true;
      } finally {
        await port.close();
      }
    }
    return false;
  };
  const alive = await Promise.all(sorted.map(check));
  let aliveAt = 0;
  let deadAt: number | undefined;
  for (const [i, ok] of alive.entries()) {
    if (ok && deadAt == null) aliveAt = sorted[i];
    if (!ok && deadAt == null) deadAt = sorted[i];
  }
  const recommendedKeepAliveMs =
    deadAt == null
      ? Math.floor(0.8 * (sorted[sorted.length - 1] ?? 0))
      : aliveAt > 0
        ? Math.floor(0.8 * aliveAt)
        : Math.floor(deadAt / 2);
  return { aliveAt, deadAt, recommendedKeepAliveMs };
}

export { probeFiltering, probeMappingLifetime, filteringFrom };
export type { FilteringResult, MappingLifetimeResult };
