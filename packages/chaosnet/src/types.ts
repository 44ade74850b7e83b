import type { NATKind } from '@node-network/netsim';

/** The NAT kinds a node may sit behind (netsim's and netlab's list). */
type Kind = NATKind;

type Path = 'direct' | 'punched' | 'relayed' | 'http-relay';

/** Kinds a node's NAT may be changed to (and from): the single routers both labs can reload. */
type ReloadableKind = 'full-cone' | 'restricted' | 'port-restricted' | 'symmetric';

type OpKind = 'connect' | 'rpc' | 'transfer' | 'lookup' | 'disconnect';

/** A node named in a fault: its name (`n3`, `seed0`, `relay`), or `random` (a seeded choice). */
type NodeRef = string;

type FaultSpec =
  | { at: number; kind: 'kill'; node: NodeRef; downMs: number }
  | { at: number; kind: 'nat'; node: NodeRef; to: ReloadableKind | 'random'; durationMs?: number }
  | { at: number; kind: 'address'; node: NodeRef }
  | { at: number; kind: 'partition'; nodes: Array<NodeRef> | number; durationMs: number }
  | { at: number; kind: 'loss'; node: NodeRef | 'all'; percent: number; durationMs: number }
  | { at: number; kind: 'latency'; node: NodeRef; ms: number; durationMs: number }
  | { at: number; kind: 'kill-relay'; downMs: number; windowMs: number };

type FaultKind = FaultSpec['kind'];

/**
 * A chaos run, as a scenario file says it (times in ms: virtual on netsim,
 * wall time in netns). See `scenario.ts` for the defaults and the checks.
 */
type Scenario = {
  name: string;
  seed: number;
  /** Agent nodes (the public helpers come on top). */
  nodes: number;
  /** The NAT mix: a weight per kind; nodes are assigned by largest remainder, then shuffled by seed. */
  nat: Partial<Record<Kind, number>>;
  /** Length of the chaos phase (work and faults); the convergence check follows it. */
  durationMs: number;
  work: {
    /** Pause between one node's operations, uniform in [min, max]. */
    intervalMs: [number, number];
    weights: Record<OpKind, number>;
    transferBytes: [number, number];
    /** Limit of one operation (all its steps); a typed error is expected past it. */
    opTimeoutMs: number;
  };
  faults: {
    schedule: Array<FaultSpec>;
    /** Faults drawn from the seed on top of the schedule, at times in [from, until]. */
    random?: {
      count: number;
      kinds: Array<FaultKind>;
      from: number;
      until: number;
    };
  };
  invariants: {
    /** After the last fault ends: every live pair must connect within this, ms. */
    convergenceMs: number;
    /** Pairs the convergence check tries: `all`, or this many seeded pairs. */
    convergencePairs: 'all' | number;
    /** An operation unsettled this long past its timeout is a hang (a violation). */
    graceMs: number;
    /** One unsettled this long past its timeout is late: logged and counted, not a violation. */
    lateMs: number;
    sampleIntervalMs: number;
    /** Bounds on growth: connections per node, known nodes per node, audit records per node. */
    maxConnectionsPerNode: number;
    maxKnownNodes: number;
    /** Memory at the end may be at most this factor of the level after warm-up (plus 64 MiB). */
    memoryGrowthFactor: number;
  };
};

type ChaosEventLevel = 'info' | 'warn' | 'error';

/** One line of the run's event log (also the snapshot's events). */
type ChaosEvent = { time: number; kind: string; text: string; level?: ChaosEventLevel };

type OpOutcome = 'ok' | 'failed' | 'aborted';

/** One operation an agent (or the conductor) ran, and how it ended. */
type OpRecord = {
  id: number;
  node: string;
  kind: OpKind;
  target: string;
  start: number;
  end?: number;
  outcome?: OpOutcome;
  /** The error's class name when it failed. */
  error?: string;
  errorMessage?: string;
  path?: Path;
  /** connect: time the connect took (0 when reused). */
  connectMs?: number;
  reused?: boolean;
  bytes?: number;
  /** Settled more than `lateMs` past its timeout (ms past the timeout). */
  lateBy?: number;
  /** Who asked: the node's agent (omitted), the conductor (kill-relay), or the convergence check. */
  by?: 'conductor' | 'convergence' | 'maintenance';
};

type ViolationKind =
  | 'altered-bytes'
  | 'untyped-error'
  | 'hang'
  | 'no-convergence'
  | 'crash'
  | 'growth-connections'
  | 'growth-table'
  | 'growth-memory'
  | 'growth-timers';

type Violation = { time: number; kind: ViolationKind; node?: string; text: string };

/** One sample of the whole network, taken every `sampleIntervalMs`. */
type Sample = {
  time: number;
  liveNodes: number;
  /** Unordered node pairs holding a live connection, by its path. */
  links: Record<Path, number>;
  /** Of the live agent-node pairs, the share holding a connection. */
  connectedShare: number;
  maxConnections: number;
  maxKnownNodes: number;
  /** Heap (netsim: this process) or summed RSS (netns: the agents), MiB; not part of the reproducible log. */
  memoryMiB: number;
  /** Timers pending in the virtual clock (netsim only). */
  pendingTimers?: number;
};

/** A live view of one node, as the lab reports it. */
type NodeView = {
  up: boolean;
  connections: Array<{ nodeId: string; path: Path; relay?: string }>;
  knownNodes: number;
  addresses: Array<string>;
  memoryMiB?: number;
};

/** What a dashboard renders: the live run (the `node-network` dashboard's type, same field names). */
type NetworkSnapshot = {
  time: number;
  source: string;
  title?: string;
  nodes: Array<{
    id: string;
    label?: string;
    nat?: string;
    up: boolean;
    relay?: boolean;
    addresses?: Array<string>;
  }>;
  links: Array<{ a: string; b: string; path: string }>;
  events: Array<{ time: number; kind: string; text: string; level?: 'info' | 'warn' | 'error' }>;
  stats?: Record<string, number>;
};

type ConvergenceRecord = {
  a: string;
  b: string;
  connected: boolean;
  /** From the end of the last fault to the successful connect, ms. */
  afterLastFaultMs?: number;
  attempts: number;
  path?: Path;
  error?: string;
};

type ChaosReport = {
  scenario: Scenario;
  lab: 'sim' | 'netns';
  seed: number;
  /** Virtual (sim) or wall (netns) ms at which the chaos phase started and the last fault ended. */
  startedAt: number;
  lastFaultEndedAt: number;
  endedAt: number;
  wallMs: number;
  nodes: Array<{ name: string; nodeId: string; kind: Kind; helper: boolean }>;
  summary: {
    ops: number;
    /** Operations that settled more than `lateMs` (but less than `graceMs`) past their timeout. */
    opsLate: number;
    opsOk: number;
    opsFailed: number;
    opsAborted: number;
    transfers: number;
    transferBytes: number;
    faults: number;
    violations: number;
    violationsByKind: Partial<Record<ViolationKind, number>>;
    pathMix: Record<Path, number>;
    connectMs: { p50: number; p90: number; p99: number; max: number; count: number };
    convergence: { pairs: number; connected: number; maxAfterLastFaultMs: number };
    errors: Record<string, number>;
  };
  samples: Array<Sample>;
  faults: Array<ChaosEvent>;
  violations: Array<Violation>;
  convergence: Array<ConvergenceRecord>;
  ops: Array<OpRecord>;
  events: Array<ChaosEvent>;
  snapshot: NetworkSnapshot;
};

export type {
  Kind,
  Path,
  ReloadableKind,
  OpKind,
  NodeRef,
  FaultSpec,
  FaultKind,
  Scenario,
  ChaosEvent,
  ChaosEventLevel,
  OpOutcome,
  OpRecord,
  ViolationKind,
  Violation,
  Sample,
  NodeView,
  NetworkSnapshot,
  ConvergenceRecord,
  ChaosReport,
};
