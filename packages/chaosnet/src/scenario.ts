import type { FaultKind, FaultSpec, Kind, OpKind, ReloadableKind, Scenario } from './types.js';
import fs from 'node:fs';
import { natKinds } from '@node-network/netsim';
import { ErrorChaosScenario } from './errors.js';

const opKinds: ReadonlyArray<OpKind> = ['connect', 'rpc', 'transfer', 'lookup', 'disconnect'];
const faultKinds: ReadonlyArray<FaultKind> = [
  'kill',
  'nat',
  'address',
  'partition',
  'loss',
  'latency',
  'kill-relay',
];
const reloadableKinds: ReadonlyArray<ReloadableKind> = [
  'full-cone',
  'restricted',
  'port-restricted',
  'symmetric',
];
/** The public helpers every run has: six single-stack seeds and observers, one dual-stack relay. */
const helperNames: ReadonlyArray<string> = [
  'seed0',
  'seed1',
  'seed2',
  'seed3',
  'seed4',
  'seed5',
  'relay',
];
const maxTime = 24 * 3600_000;

const scenarioDefault: Scenario = {
  name: 'chaos',
  seed: 1,
  nodes: 12,
  nat: Object.fromEntries(natKinds.map((k) => [k, 1])) as Record<Kind, number>,
  durationMs: 120_000,
  work: {
    intervalMs: [1_000, 4_000],
    weights: { connect: 3, rpc: 3, transfer: 2, lookup: 1, disconnect: 1 },
    transferBytes: [16 * 1024, 256 * 1024],
    opTimeoutMs: 20_000,
  },
  faults: { schedule: [] },
  invariants: {
    convergenceMs: 60_000,
    convergencePairs: 'all',
    graceMs: 5_000,
    lateMs: 5_000,
    sampleIntervalMs: 5_000,
    maxConnectionsPerNode: 64,
    maxKnownNodes: 256,
    memoryGrowthFactor: 3,
  },
};

/** Where in the scenario a check failed, for the error's message and data. */
function fail(path: string, reason: string): never {
  throw new ErrorChaosScenario(`Scenario ${path === '' ? '' : `field ${path} `}${reason}`, {
    data: { path, reason },
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function record(v: unknown, path: string, allowed: ReadonlyArray<string>): Record<string, unknown> {
  if (!isRecord(v)) fail(path, 'must be an object');
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) fail(path === '' ? k : `${path}.${k}`, 'is not a known field');
  }
  return v;
}

function num(
  v: unknown,
  path: string,
  {
    min = 0,
    max = maxTime,
    integer = false,
  }: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'must be a finite number');
  if (integer && !Number.isInteger(v)) fail(path, 'must be an integer');
  if (v < min || v > max) fail(path, `must be within [${min}, ${max}]`);
  return v;
}

function range(v: unknown, path: string, opts: { min?: number; max?: number }): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) fail(path, 'must be [min, max]');
  const lo = num(v[0], `${path}[0]`, opts);
  const hi = num(v[1], `${path}[1]`, opts);
  if (lo > hi) fail(path, 'must have min <= max');
  return [lo, hi];
}

function str(v: unknown, path: string, maxLength = 200): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
    fail(path, `must be a string of 1 to ${maxLength} characters`);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, options: ReadonlyArray<T>): T {
  if (typeof v !== 'string' || !options.includes(v as T)) {
    fail(path, `must be one of ${options.join(', ')}`);
  }
  return v as T;
}

/** A node named in a fault: `nN` (N < nodes), a helper, or `random` (and `all` where allowed). */
function nodeRef(
  v: unknown,
  path: string,
  nodes: number,
  extra: ReadonlyArray<string> = [],
): string {
  const s = str(v, path, 40);
  if (s === 'random' || extra.includes(s) || helperNames.includes(s)) return s;
  const m = /^n(\d{1,4})$/.exec(s);
  if (m == null || Number(m[1]) >= nodes) {
    fail(path, `names no node (nodes are n0..n${nodes - 1}, ${helperNames.join(', ')}, random)`);
  }
  return s;
}

function weights<K extends string>(
  v: unknown,
  path: string,
  keys: ReadonlyArray<K>,
): Partial<Record<K, number>> {
  const r = record(v, path, keys);
  const out: Partial<Record<K, number>> = {};
  for (const k of keys) {
    if (r[k] !== undefined) out[k] = num(r[k], `${path}.${k}`, { max: 1e6 });
  }
  if (!Object.values(out).some((w) => (w as number) > 0)) fail(path, 'needs a weight above 0');
  return out;
}

function opWeights(v: unknown): Record<OpKind, number> {
  const given = weights(v, 'work.weights', opKinds);
  return Object.fromEntries(opKinds.map((k) => [k, given[k] ?? 0])) as Record<OpKind, number>;
}

function fault(v: unknown, path: string, s: { nodes: number; durationMs: number }): FaultSpec {
  if (!isRecord(v)) fail(path, 'must be an object');
  const kind = oneOf(v.kind, `${path}.kind`, faultKinds);
  const at = num(v.at, `${path}.at`, { max: s.durationMs });
  const dur = (k: string) => num(v[k], `${path}.${k}`, { min: 1, max: maxTime });
  const ref = (k: string, extra?: ReadonlyArray<string>) =>
    nodeRef(v[k], `${path}.${k}`, s.nodes, extra);
  switch (kind) {
    case 'kill':
      record(v, path, ['kind', 'at', 'node', 'downMs']);
      return { at, kind, node: ref('node'), downMs: dur('downMs') };
    case 'nat': {
      record(v, path, ['kind', 'at', 'node', 'to', 'durationMs']);
      const to = oneOf(v.to, `${path}.to`, [...reloadableKinds, 'random' as const]);
      return {
        at,
        kind,
        node: ref('node'),
        to,
        ...(v.durationMs !== undefined ? { durationMs: dur('durationMs') } : {}),
      };
    }
    case 'address':
      record(v, path, ['kind', 'at', 'node']);
      return { at, kind, node: ref('node') };
    case 'partition': {
      record(v, path, ['kind', 'at', 'nodes', 'durationMs']);
      let nodes: Array<string> | number;
      if (Array.isArray(v.nodes)) {
        if (v.nodes.length === 0 || v.nodes.length > s.nodes) {
          fail(`${path}.nodes`, `must name 1 to ${s.nodes} nodes`);
        }
        nodes = v.nodes.map((n, i) => nodeRef(n, `${path}.nodes[${i}]`, s.nodes));
      } else {
        nodes = num(v.nodes, `${path}.nodes`, {
          min: 1,
          max: Math.max(1, s.nodes - 1),
          integer: true,
        });
      }
      return { at, kind, nodes, durationMs: dur('durationMs') };
    }
    case 'loss':
      record(v, path, ['kind', 'at', 'node', 'percent', 'durationMs']);
      return {
        at,
        kind,
        node: ref('node', ['all']),
        percent: num(v.percent, `${path}.percent`, { max: 100 }),
        durationMs: dur('durationMs'),
      };
    case 'latency':
      record(v, path, ['kind', 'at', 'node', 'ms', 'durationMs']);
      return {
        at,
        kind,
        node: ref('node'),
        ms: num(v.ms, `${path}.ms`, { max: 10_000 }),
        durationMs: dur('durationMs'),
      };
    case 'kill-relay':
      record(v, path, ['kind', 'at', 'downMs', 'windowMs']);
      return {
        at,
        kind,
        downMs: dur('downMs'),
        windowMs: v.windowMs === undefined ? 30_000 : dur('windowMs'),
      };
  }
}

/**
 * Checks a parsed scenario (a JSON value) and fills in the defaults. Throws
 * `ErrorChaosScenario` naming the first field that is wrong; never anything
 * else, whatever the input.
 */
function parseScenario(input: unknown): Scenario {
  const top = record(input, '', [
    'name',
    'seed',
    'nodes',
    'nat',
    'durationMs',
    'work',
    'faults',
    'invariants',
    '$comment',
  ]);
  const d = scenarioDefault;
  const name = top.name === undefined ? d.name : str(top.name, 'name');
  const seed =
    top.seed === undefined ? d.seed : num(top.seed, 'seed', { max: 0xffffffff, integer: true });
  const nodes =
    top.nodes === undefined
      ? d.nodes
      : num(top.nodes, 'nodes', { min: 2, max: 500, integer: true });
  const nat = top.nat === undefined ? d.nat : weights(top.nat, 'nat', natKinds);
  const durationMs =
    top.durationMs === undefined ? d.durationMs : num(top.durationMs, 'durationMs', { min: 1 });
  const w = top.work === undefined ? {} : record(top.work, 'work', Object.keys(d.work));
  const work: Scenario['work'] = {
    intervalMs:
      w.intervalMs === undefined
        ? d.work.intervalMs
        : range(w.intervalMs, 'work.intervalMs', { min: 1 }),
    weights: w.weights === undefined ? d.work.weights : opWeights(w.weights),
    transferBytes:
      w.transferBytes === undefined
        ? d.work.transferBytes
        : range(w.transferBytes, 'work.transferBytes', { min: 1, max: 1 << 30 }),
    opTimeoutMs:
      w.opTimeoutMs === undefined
        ? d.work.opTimeoutMs
        : num(w.opTimeoutMs, 'work.opTimeoutMs', { min: 100 }),
  };
  const inv =
    top.invariants === undefined
      ? {}
      : record(top.invariants, 'invariants', Object.keys(d.invariants));
  const invariants: Scenario['invariants'] = { ...d.invariants };
  for (const k of [
    'convergenceMs',
    'graceMs',
    'lateMs',
    'sampleIntervalMs',
    'maxConnectionsPerNode',
    'maxKnownNodes',
  ] as const) {
    if (inv[k] !== undefined) {
      invariants[k] = num(inv[k], `invariants.${k}`, { min: 1, integer: k.startsWith('max') });
    }
  }
  if (invariants.lateMs > invariants.graceMs) {
    fail('invariants.lateMs', 'must be at most invariants.graceMs');
  }
  if (inv.memoryGrowthFactor !== undefined) {
    invariants.memoryGrowthFactor = num(inv.memoryGrowthFactor, 'invariants.memoryGrowthFactor', {
      min: 1,
      max: 1000,
    });
  }
  if (inv.convergencePairs !== undefined) {
    invariants.convergencePairs =
      inv.convergencePairs === 'all'
        ? 'all'
        : num(inv.convergencePairs, 'invariants.convergencePairs', {
            min: 1,
            max: 1e6,
            integer: true,
          });
  }
  const f = top.faults === undefined ? {} : record(top.faults, 'faults', ['schedule', 'random']);
  let schedule: Array<FaultSpec> = [];
  if (f.schedule !== undefined) {
    if (!Array.isArray(f.schedule) || f.schedule.length > 10_000) {
      fail('faults.schedule', 'must be an array of at most 10000 faults');
    }
    schedule = f.schedule.map((x, i) => fault(x, `faults.schedule[${i}]`, { nodes, durationMs }));
  }
  let random: Scenario['faults']['random'];
  if (f.random !== undefined) {
    const r = record(f.random, 'faults.random', ['count', 'kinds', 'from', 'until']);
    if (!Array.isArray(r.kinds) || r.kinds.length === 0 || r.kinds.length > 64) {
      fail('faults.random.kinds', 'must list 1 to 64 fault kinds');
    }
    const from = r.from === undefined ? 0 : num(r.from, 'faults.random.from', { max: durationMs });
    const until =
      r.until === undefined ? durationMs : num(r.until, 'faults.random.until', { max: durationMs });
    if (from > until) fail('faults.random', 'must have from <= until');
    random = {
      count: num(r.count, 'faults.random.count', { max: 10_000, integer: true }),
      kinds: r.kinds.map((k, i) => oneOf(k, `faults.random.kinds[${i}]`, faultKinds)),
      from,
      until,
    };
  }
  return {
    name,
    seed,
    nodes,
    nat,
    durationMs,
    work,
    faults: { schedule, ...(random != null ? { random } : {}) },
    invariants,
  };
}

/** Parses scenario text (JSON); a syntax error is an `ErrorChaosScenario` too. */
function parseScenarioText(text: string): Scenario {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ErrorChaosScenario(`Scenario is not JSON: ${(e as Error).message}`, {
      cause: e,
      data: { path: '', reason: 'not JSON' },
    });
  }
  return parseScenario(value);
}

/** Reads and parses a scenario file. */
function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ErrorChaosScenario(`Cannot read scenario ${file}: ${(e as Error).message}`, {
      cause: e,
      data: { path: '', reason: 'unreadable' },
    });
  }
  return parseScenarioText(text);
}

export {
  parseScenario,
  parseScenarioText,
  loadScenario,
  scenarioDefault,
  helperNames,
  reloadableKinds,
  opKinds,
  faultKinds,
};
