import type { Address } from '@node-network/network-interface';
import type { NATKind } from './types.js';
import type VirtualDatagramPort from './VirtualDatagramPort.js';
import Network from './Network.js';
import Random from './Random.js';
import { addSite } from './presets.js';

/** The NAT kinds that can send UDP over IPv4: the scale scenario's default round robin. */
const scaleKindsDefault: ReadonlyArray<NATKind> = [
  'open',
  'full-cone',
  'restricted',
  'port-restricted',
  'symmetric',
  'double-nat',
];

type ScaleScenarioOptions = {
  nodes: number;
  /** Public echo servers every node pings (198.51.100.1, .2, ...; IPv6 2001:db8:ffff:ff::1, ...). */
  observers?: number;
  seed?: number;
  /** Virtual time during which nodes send pings; answers still in flight then are delivered. */
  durationMs?: number;
  pingIntervalMs?: number;
  /** NAT kinds, assigned round robin (default: the six that carry IPv4 UDP). */
  kinds?: ReadonlyArray<NATKind>;
  latency?: number;
  jitter?: number;
  loss?: number;
};

type ScaleScenarioResult = {
  nodes: number;
  observers: number;
  /** Virtual time at the end (`durationMs` plus the last answers' flight). */
  virtualMs: number;
  /** Wall time of the run (building excluded: see `buildMs`). */
  wallMs: number;
  /** Wall time to build the network (hosts, NATs, ports). */
  buildMs: number;
  /** Simulator events: virtual-clock timers run (ping rounds and deliveries). */
  timersRun: number;
  datagramsSent: number;
  datagramsDelivered: number;
  datagramsDropped: number;
  /** Pings the nodes sent (nodes x observers x rounds). */
  pingsSent: number;
  /** Pings the observers received (each answered). */
  pingsReceived: number;
  answersReceived: number;
  /** Nodes that got an answer from every observer to every ping round. */
  nodesFullyAnswered: number;
  /** Per kind: nodes, and the answers they received. */
  byKind: Record<string, { nodes: number; answers: number }>;
  /** FNV-1a over (node, observer, observed address) of every answer in arrival order. */
  digest: number;
  heapUsedBytes: number;
  heapPerNodeBytes: number;
  rssBytes: number;
  /** Timers run per wall second of the run. */
  eventsPerSecond: number;
};

const encoder = new TextEncoder();

function fnv1a(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/**
 * How many nodes one process carries: `nodes` sites behind the NAT kinds
 * (round robin), each with one bound port, ping every observer every
 * `pingIntervalMs` of virtual time (each node at its own seeded phase); the
 * observers answer each ping with the address they saw it come from. Runs
 * `durationMs` of virtual time, then lets the answers in flight land.
 * Counters are deterministic for a seed; wall time and memory are measured
 * around the run (memory after `gc()` when node runs with `--expose-gc`).
 */
function runScaleScenario({
  nodes,
  observers = 3,
  seed = 1,
  durationMs = 60_000,
  pingIntervalMs = 5_000,
  kinds = scaleKindsDefault,
  latency = 20,
  jitter = 0,
  loss = 0,
}: ScaleScenarioOptions): ScaleScenarioResult {
  if (observers < 1 || observers > 254) throw new RangeError('observers must be 1 to 254');
  if (kinds.length === 0) throw new RangeError('kinds is empty');
  const heapBefore = heapUsed();
  const b0 = performance.now();
  const net = new Network({ seed, latency, jitter, loss });
  const clock = net.clock;
  const phases = new Random(seed ^ 0x5ca1ab1e);

  // Observers: echo servers on the internet answering with the observed source address.
  const observerPorts: Array<{ v4: VirtualDatagramPort; v6: VirtualDatagramPort }> = [];
  const observerIndex = new Map<string, number>();
  let pingsReceived = 0;
  for (let o = 0; o < observers; o++) {
    const host = net.addHost({
      name: `observer-${o}`,
      ipv4: `198.51.100.${o + 1}`,
      ipv6: `2001:db8:ffff:ff::${(o + 1).toString(16)}`,
    });
    const v4 = net.bind(host, 'ipv4', 3478);
    const v6 = net.bind(host, 'ipv6', 3478);
    for (const port of [v4, v6]) {
      observerIndex.set(port.localAddress.host, o);
      port.onDatagram((_data, from) => {
        pingsReceived++;
        void port.send(encoder.encode(`${from.host}:${from.port}`), from);
      });
    }
    observerPorts.push({ v4, v6 });
  }

  // Nodes: one site each, one port, a ping round every interval from a seeded phase.
  const answers = new Uint32Array(nodes * observers);
  const roundsSent = new Uint32Array(nodes);
  const kindOf: Array<NATKind> = new Array(nodes);
  const ping = Uint8Array.of(1);
  let pingsSent = 0;
  let answersReceived = 0;
  let digest = 0x811c9dc5;
  for (let i = 0; i < nodes; i++) {
    const kind = kinds[i % kinds.length];
    kindOf[i] = kind;
    const { host } = addSite(net, kind, { name: `node-${i}`, index: i });
    const family = host.ipv4 != null ? 'ipv4' : 'ipv6';
    const port = net.bind(host, family);
    const targets: Array<Address> = observerPorts.map((o) =>
      family === 'ipv4' ? o.v4.localAddress : o.v6.localAddress,
    );
    port.onDatagram((data, from) => {
      const o = observerIndex.get(from.host);
      if (o == null) return;
      answersReceived++;
      answers[i * observers + o]++;
      digest = fnv1a(Math.imul(digest ^ (i * observers + o), 0x01000193) >>> 0, data);
    });
    const round = () => {
      roundsSent[i]++;
      for (const to of targets) {
        pingsSent++;
        void port.send(ping, to);
      }
      if (clock.now() + pingIntervalMs < durationMs) clock.setTimer(pingIntervalMs, round);
    };
    clock.setTimer(Math.floor(phases.next() * pingIntervalMs), round);
  }
  const buildMs = performance.now() - b0;

  const t0 = performance.now();
  const e0 = clock.timersRun;
  clock.advance(durationMs);
  clock.runUntilIdle();
  const wallMs = performance.now() - t0;
  const timersRun = clock.timersRun - e0;

  const heapAfter = heapUsed();
  const rssBytes = process.memoryUsage().rss;
  let nodesFullyAnswered = 0;
  const byKind: Record<string, { nodes: number; answers: number }> = {};
  for (let i = 0; i < nodes; i++) {
    let got = 0;
    let full = true;
    for (let o = 0; o < observers; o++) {
      got += answers[i * observers + o];
      if (answers[i * observers + o] < roundsSent[i]) full = false;
    }
    if (full) nodesFullyAnswered++;
    const k = (byKind[kindOf[i]] ??= { nodes: 0, answers: 0 });
    k.nodes++;
    k.answers += got;
  }
  const heapUsedBytes = heapAfter - heapBefore;
  return {
    nodes,
    observers,
    virtualMs: clock.now(),
    wallMs,
    buildMs,
    timersRun,
    datagramsSent: net.stats.sent,
    datagramsDelivered: net.stats.delivered,
    datagramsDropped: net.stats.dropped,
    pingsSent,
    pingsReceived,
    answersReceived,
    nodesFullyAnswered,
    byKind,
    digest,
    heapUsedBytes,
    heapPerNodeBytes: nodes > 0 ? heapUsedBytes / nodes : 0,
    rssBytes,
    eventsPerSecond: wallMs > 0 ? timersRun / (wallMs / 1000) : 0,
  };
}

export { runScaleScenario, scaleKindsDefault };
export type { ScaleScenarioOptions, ScaleScenarioResult };
