/**
 * Timing decisions, as pure functions of their inputs: when to resend a UDP
 * request (RFC 6886 §3.1: 250 ms, doubling) and when to renew a lease (at
 * half its lifetime, as RFC 6886 §3.3 and Tailscale do).
 */

/**
 * Offsets (ms from the first send) at which a request is sent, within
 * `budgetMs`: 0, then `initialMs`, doubling each time (0, 250, 750, 1750,
 * 3750, ... for 250), at most `maxSends` (RFC 6886: 9).
 */
function retransmitOffsets(initialMs: number, budgetMs: number, maxSends = 9): Array<number> {
  const out = [0];
  let interval = Math.max(1, initialMs);
  let t = interval;
  while (out.length < maxSends && t < budgetMs) {
    out.push(t);
    interval *= 2;
    t += interval;
  }
  return out;
}

/** Delay (ms) from a granted lease to its renewal: half the lifetime, at least 500 ms. */
function renewalDelayMs(lifetimeSeconds: number): number {
  return Math.max(500, lifetimeSeconds * 500);
}

/**
 * Delay (ms) before retrying a failed renewal: half of what is left of the
 * lease (at least 1 s), or `afterExpiryMs` once it has run out.
 */
function renewalRetryDelayMs(remainingMs: number, afterExpiryMs: number): number {
  if (remainingMs <= 1000) return afterExpiryMs;
  return Math.max(1000, Math.floor(remainingMs / 2));
}

export { retransmitOffsets, renewalDelayMs, renewalRetryDelayMs };
