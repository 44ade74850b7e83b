/** NodeIds as 256-bit integers: XOR distance, buckets and key ranges. */
const bits = 256;
const top = 1n << BigInt(bits);

function toBig(id: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(id).toString('hex') || '0'}`);
}

function toKey(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(bits / 4, '0'), 'hex');
}

/**
 * The bucket of `id` seen from `own`: 255 - (index of the first differing
 * bit from the top), so bucket 255 holds half the id space and bucket 0 the
 * ids that differ from ours in the last bit only. `undefined` for our own id.
 */
function bucketIndex(own: bigint, id: bigint): number | undefined {
  const d = own ^ id;
  if (d === 0n) return undefined;
  return d.toString(2).length - 1;
}

/** The ids sharing the first `depth` bits with `target`: [lo, hi). */
function prefixRange(target: bigint, depth: number): { lo: bigint; hi: bigint } {
  const span = 1n << BigInt(bits - depth);
  const lo = (target / span) * span;
  return { lo, hi: lo + span };
}

/** `target` with bit `depth` (from the top, 0-based) flipped. */
function flipBit(target: bigint, depth: number): bigint {
  return target ^ (1n << BigInt(bits - 1 - depth));
}

export { bits, top, toBig, toKey, bucketIndex, prefixRange, flipBit };
