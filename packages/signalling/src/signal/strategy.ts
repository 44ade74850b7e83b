import type { NATHint } from './types.js';

/** The ports a NAT allocates from (Linux, and RFC 6056's recommendation for ephemeral ports). */
const portSpaceDefault = { min: 1024, max: 65535 } as const;

type PunchStrategyConfig = {
  /** Extra sockets the endpoint-dependent side opens when its NAT allocates at random. */
  birthdaySockets: number;
  /** Distinct ports the other side probes on it then. */
  birthdayProbes: number;
  /** Extra sockets when its NAT allocates sequentially (the prediction window absorbs the rest). */
  sequentialSockets: number;
  /** Ports probed upward from its last observed port then. */
  sequentialProbes: number;
};

const punchStrategyConfigDefault: PunchStrategyConfig = {
  birthdaySockets: 256,
  birthdayProbes: 2048,
  sequentialSockets: 16,
  sequentialProbes: 512,
};

/**
 * How this side punches toward a peer, from both sides' NAT hints:
 * - `simple`: both mappings are endpoint-independent (or unknown): punch from
 *   the connection socket to the peer's candidates, and dial them.
 * - `open-sockets`: ours is endpoint-dependent (symmetric), theirs is not:
 *   open `sockets` extra sockets that punch toward the peer, and dial from the
 *   first one that hears it (the peer probes our NAT's ports).
 * - `probe-ports`: theirs is endpoint-dependent, ours is not: probe `probes`
 *   ports of their public address (at random, or upward from their last
 *   observed port when their NAT allocates sequentially) from the connection
 *   socket, so that one of their extra sockets' mappings may pass our filter.
 * - `both-dependent`: both are endpoint-dependent; a punch is unlikely (a
 *   relay is the way), so only the simple punch runs.
 * Both sides reach complementary plans from the same two hints.
 */
type PunchPlan =
  | { kind: 'simple' }
  | { kind: 'open-sockets'; sockets: number; allocation: 'sequential' | 'random' }
  | { kind: 'probe-ports'; probes: number; order: 'sequential' | 'random' }
  | { kind: 'both-dependent' };

function isDependent(h: NATHint | undefined): boolean {
  return h != null && (h.mapping === 'endpoint-dependent' || h.mapping === 'address-dependent');
}

function planPunch(
  ours: NATHint | undefined,
  theirs: NATHint | undefined,
  config: Partial<PunchStrategyConfig> = {},
): PunchPlan {
  const c = { ...punchStrategyConfigDefault, ...config };
  const weDepend = isDependent(ours);
  const theyDepend = isDependent(theirs);
  if (weDepend && theyDepend) return { kind: 'both-dependent' };
  if (weDepend) {
    return ours!.allocation === 'sequential'
      ? { kind: 'open-sockets', sockets: c.sequentialSockets, allocation: 'sequential' }
      : { kind: 'open-sockets', sockets: c.birthdaySockets, allocation: 'random' };
  }
  if (theyDepend) {
    return theirs!.allocation === 'sequential'
      ? { kind: 'probe-ports', probes: c.sequentialProbes, order: 'sequential' }
      : { kind: 'probe-ports', probes: c.birthdayProbes, order: 'random' };
  }
  return { kind: 'simple' };
}

/**
 * The chance that `probes` distinct ports, drawn at random from a space of
 * `portSpace` ports, include at least one of the `sockets` ports the
 * other NAT gave our extra sockets (drawn without replacement):
 * 1 - prod_{i<probes} (portSpace - sockets - i) / (portSpace - i).
 */
function birthdayProbability({
  sockets,
  probes,
  portSpace = portSpaceDefault.max - portSpaceDefault.min + 1,
}: {
  sockets: number;
  probes: number;
  portSpace?: number;
}): number {
  if (sockets <= 0 || probes <= 0) return 0;
  if (sockets + probes > portSpace) return 1;
  let miss = 1;
  for (let i = 0; i < probes; i++) miss *= (portSpace - sockets - i) / (portSpace - i);
  return 1 - miss;
}

/**
 * The ports to probe on a peer behind an endpoint-dependent NAT, in order.
 * `random`: `count` distinct ports of the port space, drawn with `random`
 * (uniform 16-bit values); `sequential`: upward from `base + 1`, wrapping
 * within the port space.
 */
function probePorts({
  order,
  count,
  base = portSpaceDefault.min - 1,
  random,
  portSpace = portSpaceDefault,
}: {
  order: 'sequential' | 'random';
  count: number;
  base?: number;
  random: (n: number) => Uint8Array;
  portSpace?: { min: number; max: number };
}): Array<number> {
  const span = portSpace.max - portSpace.min + 1;
  const n = Math.max(0, Math.min(count, span));
  if (order === 'sequential') {
    const start = Math.min(Math.max(base + 1, portSpace.min), portSpace.max) - portSpace.min;
    return Array.from({ length: n }, (_, i) => portSpace.min + ((start + i) % span));
  }
  const chosen = new Set<number>();
  for (let round = 0; chosen.size < n; round++) {
    if (round === 64) {
      throw new RangeError(`The random source gave ${chosen.size} distinct ports of ${n} asked`);
    }
    const bytes = random(2 * (n - chosen.size) + 8);
    for (let i = 0; i + 1 < bytes.length && chosen.size < n; i += 2) {
      const v = (bytes[i] << 8) | bytes[i + 1];
      // Rejection sampling keeps the draw uniform over the span.
      if (v >= span * Math.floor(65536 / span)) continue;
      chosen.add(portSpace.min + (v % span));
    }
  }
  return [...chosen];
}

export { planPunch, birthdayProbability, probePorts, portSpaceDefault, punchStrategyConfigDefault };
export type { PunchPlan, PunchStrategyConfig };
