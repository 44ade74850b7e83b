import type { Address, Clock, DatagramPort, Unsubscribe } from '@node-network/network-interface';
import type { FilteringClass } from '../nat/types.js';
import type { ProbeAnswer, ReplyFrom } from './messages.js';
import { randomBytes } from 'node:crypto';
import { errors as baseErrors } from '@node-network/network-interface';
import {
  decodeProbeMessage,
  encodeProbeMessage,
  maxDelayMs,
  nonceLength,
  replyFroms,
  sameIp,
} from './messages.js';
import { ErrorNATProbeParameters, ErrorNATProbeUnanswered } from './errors.js';

type FilteringResult = {
  /** The answer from the endpoint we sent to arrived. */
  same: boolean;
  /** From another port of the server's host (undefined: the server has none). */
  otherPort?: boolean;
  /** From another IP of the server's machine (undefined: the server has none). */
  otherHost?: boolean;
  /** Where the server saw us (our reflexive address), when an answer arrived. */
  observed?: Address;
};

type MappingLifetimeResult = {
  /** The longest idle interval after which the mapping still let the answer in, ms (0: none did). */
  aliveAt: number;
  /** The shortest idle interval after which it did not, ms (undefined: every interval tested did). */
  deadAt?: number;
  /** Keepalive interval to use, ms (see `probeMappingLifetime`). */
  recommendedKeepAliveMs: number;
};

/** `n` random bytes (nonces); injectable for deterministic tests. */
type Random = (n: number) => Uint8Array;
const defaultRandom: Random = (n) => new Uint8Array(randomBytes(n));

function cancelled(signal?: AbortSignal): Error {
  return new baseErrors.ErrorCancelled('NAT probe cancelled', { cause: signal?.reason });
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/**
 * The probe answers arriving on one port that carry one of our nonces (at
 * most `maxAnswers` kept, so a replay flood cannot grow it). `until` waits on
 * the injected clock until a condition on what arrived holds, or a time is
 * up.
 */
class Inbox {
  public static readonly maxAnswers = 64;
  public readonly answers: Array<{ answer: ProbeAnswer; from: Address }> = [];
  protected off: Unsubscribe;
  protected wake?: () => void;

  public constructor(port: DatagramPort, nonces: ReadonlyArray<Uint8Array>) {
    this.off = port.onDatagram((data, from) => {
      try {
        const m = decodeProbeMessage(data);
        if (m.type !== 'answer' || !nonces.some((n) => equalBytes(n, m.nonce))) return;
        if (this.answers.length >= Inbox.maxAnswers) return;
        this.answers.push({ answer: m, from });
      } catch {
        return; // not a probe answer: ignore
      }
      this.wake?.();
    });
  }

  /** Resolves with `done()` once it holds or `ms` have passed; `ErrorCancelled` on abort. */
  public until(
    clock: Clock,
    ms: number,
    done: () => boolean,
    signal?: AbortSignal,
  ): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(cancelled(signal));
      if (done()) return resolve(true);
      const finish = () => {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
      };
      const onAbort = () => {
        finish();
        reject(cancelled(signal));
      };
      const timer = clock.setTimer(ms, () => {
        finish();
        resolve(done());
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => {
        if (!done()) return;
        finish();
        resolve(true);
      };
    });
  }

  public close(): void {
    this.off();
    this.wake = undefined;
  }
}

function checkCount(name: string, n: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ErrorNATProbeParameters(`${name} must be in ${min}..${max}, got ${n}`);
  }
}

/** Which kind of endpoint `from` is, relative to the server's main endpoint. */
function sourceKind(from: Address, server: Address): ReplyFrom {
  if (!sameIp(from, server)) return 'other-host';
  return from.port === server.port ? 'same' : 'other-port';
}

/**
 * What one filtering test says about the NAT in front of us:
 * - `endpoint-independent`: the answer from the server's other IP arrived;
 * - `address-dependent`: the one from its other port arrived, the other IP's
 *   did not;
 * - `address-and-port-dependent`: only the one from the endpoint we sent to
 *   arrived;
 * - `unknown`: that one did not arrive either (UDP blocked, server down), or
 *   the server lacks the endpoint the distinction needs.
 */
function filteringFrom(r: FilteringResult): FilteringClass {
  if (!r.same) return 'unknown';
  if (r.otherHost === true) return 'endpoint-independent';
  if (r.otherPort === true) return r.otherHost === false ? 'address-dependent' : 'unknown';
  if (r.otherPort === false) return 'address-and-port-dependent';
  return 'unknown';
}

/**
 * One filtering test: from `port`, which must be fresh (its mapping has
 * sent only to the server's main endpoint), asks `server` for answers from
 * every endpoint in `capabilities` (and the same one) and reports which
 * arrived. Over a NAT, the other port's answer passes only address-dependent
 * or looser filtering, the other IP's only endpoint-independent filtering;
 * see `filteringFrom`. The request is sent `attempts` times spaced evenly
 * over `timeoutMs`; the result is ready once every answer arrived or the
 * time is up. An answer whose source does not fit its kind (say an
 * `other-host` answer from the server's own IP, a misconfigured server) is
 * ignored and its kind reported undefined. A kind not in `capabilities` is
 * undefined. Rejects with `ErrorCancelled` on `signal`, and with the port's
 * error when it cannot send.
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
  checkCount('timeoutMs', timeoutMs, 0);
  checkCount('attempts', attempts, 1, 100);
  const wanted = replyFroms.filter((k) => k === 'same' || capabilities.includes(k));
  const nonce = random(nonceLength);
  const request = encodeProbeMessage({ type: 'probe', nonce, replyFrom: wanted, delayMs: 0 });
  const got = new Set<ReplyFrom>();
  const misrouted = new Set<ReplyFrom>();
  let observed: Address | undefined;
  const inbox = new Inbox(port, [nonce]);
  const complete = () => {
    for (const { answer, from } of inbox.answers.splice(0)) {
      if (!equalBytes(answer.nonce, nonce) || !wanted.includes(answer.from)) continue;
      if (sourceKind(from, server) !== answer.from) {
        misrouted.add(answer.from);
        continue;
      }
      got.add(answer.from);
      if (observed == null || answer.from === 'same') observed = answer.observed;
    }
    return wanted.every((k) => got.has(k) || misrouted.has(k));
  };
  try {
    for (let i = 0; i < attempts && !complete(); i++) {
      if (signal?.aborted) throw cancelled(signal);
      await port.send(request, server);
      await inbox.until(clock, timeoutMs / attempts, complete, signal);
    }
  } finally {
    inbox.close();
  }
  const has = (k: ReplyFrom) =>
    capabilities.includes(k) && !misrouted.has(k) ? got.has(k) : undefined;
  return {
    same: got.has('same'),
    otherPort: has('other-port'),
    otherHost: has('other-host'),
    observed,
  };
}

/**
 * Whether a fresh mapping idle for `idleMs` still lets the server's answer
 * in: from a fresh port, a request answered at once proves the path works
 * (and creates the mapping); then a request answered after `idleMs`, the last
 * packet we send, so the mapping is idle from there. It is sent twice back to
 * back (one answer is enough), so one lost datagram does not shorten the
 * measured lifetime.
 */
async function mappingSurvives(
  clock: Clock,
  port: DatagramPort,
  server: Address,
  idleMs: number,
  timeoutMs: number,
  attempts: number,
  random: Random,
  signal?: AbortSignal,
): Promise<boolean> {
  const now = random(nonceLength);
  const later = new Uint8Array(random(nonceLength));
  if (equalBytes(now, later)) later[0] ^= 1; // the delayed answer must be told apart
  const inbox = new Inbox(port, [now, later]);
  const arrived = (nonce: Uint8Array) => () =>
    inbox.answers.some(
      ({ answer, from }) =>
        answer.from === 'same' &&
        equalBytes(answer.nonce, nonce) &&
        sourceKind(from, server) === 'same',
    );
  try {
    const nowRequest = encodeProbeMessage({
      type: 'probe',
      nonce: now,
      replyFrom: ['same'],
      delayMs: 0,
    });
    for (let i = 0; i < attempts && !arrived(now)(); i++) {
      if (signal?.aborted) throw cancelled(signal);
      await port.send(nowRequest, server);
      await inbox.until(clock, timeoutMs / attempts, arrived(now), signal);
    }
    if (!arrived(now)()) {
      throw new ErrorNATProbeUnanswered(
        `The NAT probe server at ${server.host}:${server.port} did not answer`,
      );
    }
    const laterRequest = encodeProbeMessage({
      type: 'probe',
      nonce: later,
      replyFrom: ['same'],
      delayMs: idleMs,
    });
    if (signal?.aborted) throw cancelled(signal);
    await port.send(laterRequest, server);
    await port.send(laterRequest, server);
    return await inbox.until(clock, idleMs + timeoutMs, arrived(later), signal);
  } finally {
    inbox.close();
  }
}

/**
 * Measures how long our NAT keeps an idle UDP mapping. For each interval,
 * shortest first, a FRESH port from `bindFresh` (a fresh mapping) proves the
 * path with an immediate answer, then asks the server to answer after that
 * many ms of silence and waits up to the interval plus `timeoutMs` on the
 * clock; the port is closed after. It stops at the first interval whose
 * answer did not arrive, so it takes about the sum of the intervals
 * answered, plus the first failed one and `timeoutMs`.
 *
 * The lifetime is bracketed: `aliveAt` is the longest interval answered,
 * `deadAt` the shortest not answered. `recommendedKeepAliveMs` is 0.8 x
 * `aliveAt` when `deadAt` is set; otherwise (every interval answered, so the
 * lifetime is only known to be at least the longest) 0.8 x the longest
 * interval tested; and when even the shortest interval failed, half of it.
 *
 * Intervals must be 1..600000 ms. Rejects with `ErrorNATProbeUnanswered`
 * when a fresh port gets no immediate answer (no path to the server),
 * `ErrorCancelled` on `signal`. Waits only on the injected clock.
 */
async function probeMappingLifetime({
  clock,
  bindFresh,
  server,
  intervals = [5_000, 15_000, 30_000, 60_000, 120_000, 300_000],
  timeoutMs = 2_000,
  attempts = 3,
  random = defaultRandom,
  signal,
}: {
  clock: Clock;
  bindFresh: () => Promise<DatagramPort>;
  server: Address;
  intervals?: ReadonlyArray<number>;
  timeoutMs?: number;
  attempts?: number;
  random?: Random;
  signal?: AbortSignal;
}): Promise<MappingLifetimeResult> {
  checkCount('timeoutMs', timeoutMs, 0);
  checkCount('attempts', attempts, 1, 100);
  if (intervals.length === 0) throw new ErrorNATProbeParameters('No intervals to test');
  for (const i of intervals) {
    if (!Number.isInteger(i)) throw new ErrorNATProbeParameters(`Interval ${i} is not whole ms`);
    checkCount('an interval', i, 1, maxDelayMs);
  }
  const sorted = [...new Set(intervals)].sort((a, b) => a - b);
  let aliveAt = 0;
  let deadAt: number | undefined;
  for (const idle of sorted) {
    if (signal?.aborted) throw cancelled(signal);
    const port = await bindFresh();
    let alive: boolean;
    try {
      alive = await mappingSurvives(clock, port, server, idle, timeoutMs, attempts, random, signal);
    } finally {
      await port.close();
    }
    if (!alive) {
      deadAt = idle;
      break;
    }
    aliveAt = idle;
  }
  const recommendedKeepAliveMs =
    deadAt == null
      ? Math.floor(0.8 * sorted[sorted.length - 1])
      : aliveAt > 0
        ? Math.floor(0.8 * aliveAt)
        : Math.floor(deadAt / 2);
  return { aliveAt, deadAt, recommendedKeepAliveMs };
}

export { probeFiltering, probeMappingLifetime, filteringFrom };
export type { FilteringResult, MappingLifetimeResult, Random as ProbeRandom };
