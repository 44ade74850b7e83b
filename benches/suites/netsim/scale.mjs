// netsim at scale, datagram layer: N nodes behind the six NAT kinds that carry IPv4 UDP (round
// robin: open, full-cone, restricted, port-restricted, symmetric, double-nat), each pinging 3
// public observers every 5 virtual seconds for 60 virtual seconds; the observers answer with the
// address they saw (runScaleScenario). Heap per node, simulator events (timers) per wall second.
// Each size runs in its own process (node --expose-gc), so one run's garbage never blurs another's
// heap figure, three times: the run with the median wall time is recorded (wall time on this
// 2-core machine varies by up to 2x between identical runs, with V8's heap sizing), and the
// counters must be identical in all three (the run is deterministic).
//
// `netsim` in benches/index.mjs runs this suite, which first runs the connection and facade
// scenarios of nodes.mjs, then writes benches/results/netsim.json with both: `results` (nodes.mjs)
// and `datagrams` (this file).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScaleScenario } from '../../../packages/netsim/dist/index.js';
import { resultsDir, writeResults } from '../../lib.mjs';

const self = fileURLToPath(import.meta.url);
const sizes = [1_000, 10_000];
const repeats = 3;
const scenario = { observers: 3, seed: 1, durationMs: 60_000, pingIntervalMs: 5_000 };

function measure(nodes) {
  const r = runScaleScenario({ nodes, ...scenario });
  return {
    scenario: 'datagrams',
    nodes: r.nodes,
    observers: r.observers,
    seed: scenario.seed,
    pingIntervalMs: scenario.pingIntervalMs,
    virtualMs: r.virtualMs,
    buildMs: Math.round(r.buildMs),
    wallMs: Math.round(r.wallMs),
    timersRun: r.timersRun,
    eventsPerSecond: Math.round(r.eventsPerSecond),
    datagrams: {
      sent: r.datagramsSent,
      delivered: r.datagramsDelivered,
      dropped: r.datagramsDropped,
    },
    pingsSent: r.pingsSent,
    answersReceived: r.answersReceived,
    nodesFullyAnswered: r.nodesFullyAnswered,
    byKind: r.byKind,
    digest: r.digest,
    heapUsedBytes: r.heapUsedBytes,
    heapPerNodeBytes: Math.round(r.heapPerNodeBytes),
    heapPerNodeKiB: +(r.heapPerNodeBytes / 1024).toFixed(1),
    rssMiB: Math.round(r.rssBytes / 2 ** 20),
    gc: typeof globalThis.gc === 'function',
  };
}

function table(rows) {
  const cols = [
    ['nodes', (r) => r.nodes.toLocaleString('en')],
    ['heap/node', (r) => `${r.heapPerNodeKiB} KiB`],
    ['events/s', (r) => r.eventsPerSecond.toLocaleString('en')],
    ['events', (r) => r.timersRun.toLocaleString('en')],
    ['build', (r) => `${r.buildMs} ms`],
    ['run', (r) => `${r.wallMs} ms`],
    ['answers', (r) => `${r.answersReceived}/${r.pingsSent}`],
    ['RSS', (r) => `${r.rssMiB} MiB`],
  ];
  const cells = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => f(r)))];
  const widths = cols.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  for (const c of cells) console.log(c.map((s, i) => s.padStart(widths[i])).join('  '));
}

export async function run() {
  // The connection and facade scenarios write netsim.json first; their results are kept.
  const nodesSuite = await import('./nodes.mjs');
  await nodesSuite.run();
  let results = [];
  try {
    results = JSON.parse(fs.readFileSync(path.join(resultsDir, 'netsim.json'), 'utf8')).results;
  } catch {
    // nodes.mjs wrote nothing: only the datagram scenarios are recorded
  }
  const datagrams = [];
  for (const n of sizes) {
    const runs = [];
    for (let i = 0; i < repeats; i++) {
      const out = execFileSync(process.execPath, ['--expose-gc', self, String(n)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      runs.push(JSON.parse(out.trim().split('\n').pop()));
    }
    const counters = new Set(runs.map((r) => JSON.stringify([r.timersRun, r.datagrams, r.digest])));
    if (counters.size !== 1) throw new Error(`netsim scale: ${n} nodes not deterministic`);
    runs.sort((a, b) => a.wallMs - b.wallMs);
    const median = runs[runs.length >> 1];
    datagrams.push({
      ...median,
      wallMsRuns: runs.map((r) => r.wallMs),
      rssMiBRuns: runs.map((r) => r.rssMiB),
    });
  }
  table(datagrams);
  console.log(`wrote ${writeResults('netsim', { results, datagrams })}`);
}

if (process.argv[1] === self) {
  process.stdout.write(`${JSON.stringify(measure(Number(process.argv[2])))}\n`);
}
