// mDNS discovery time on a real avahi LAN (netlab, root only): two nodes on two hosts, each running
// avahi-daemon, started together; per repetition the time from each node's start() to its first
// report of the other (no seed), and the time from one node's stop() to the other dropping it
// (goodbyes). Both backends: through avahi (avahi-publish / avahi-browse) and our own responder on
// 5353 beside avahi. Also the datagrams each own-responder node sent in its first 10 s and in the
// minute after (queries, known answers, suppressions). Writes benches/results/mdns.json.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, percentile, writeResults } from '../../lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { AvahiLan, ControlledProcess, canRunAvahiLan } = await import(
  path.join(root, 'packages/netlab/dist/index.js')
);
const agentScript = path.join(root, 'packages/discovery/tools/mdns-agent.mjs');
const REPS = Number(process.env.BENCH_MDNS_REPS ?? 10);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function pair(lan, backend, i) {
  const agents = await Promise.all(
    ['h1', 'h2'].map(async (host, j) => {
      const proc = new ControlledProcess(
        lan.spawn(host, [
          process.execPath,
          agentScript,
          JSON.stringify({ network: 'testnet', port: 3000 + 10 * i + j, backend }),
        ]),
      );
      const ready = await proc.waitForEvent((e) => e.event === 'ready', 15_000);
      return { proc, nodeId: ready.nodeId };
    }),
  );
  const [a, b] = agents;
  try {
    await Promise.all(agents.map((x) => x.proc.request('start', {}, 15_000)));
    const [ab, ba] = await Promise.all([
      a.proc.waitForEvent((e) => e.event === 'peer' && e.nodeId === b.nodeId, 10_000),
      b.proc.waitForEvent((e) => e.event === 'peer' && e.nodeId === a.nodeId, 10_000),
    ]);
    const statsEarly = backend === 'responder' ? await a.proc.request('stats') : undefined;
    const t0 = performance.now();
    await b.proc.request('stop');
    await a.proc.waitForEvent((e) => e.event === 'gone' && e.nodeId === b.nodeId, 10_000);
    const goneMs = performance.now() - t0;
    return { found: [ab.t, ba.t], goneMs, statsEarly };
  } finally {
    await Promise.all(agents.map((x) => x.proc.stop()));
  }
}

/** Datagrams one own-responder node sends in its first 10 s and the minute after, with a peer present. */
async function steady(lan) {
  const agents = await Promise.all(
    ['h1', 'h2'].map(async (host, j) => {
      const proc = new ControlledProcess(
        lan.spawn(host, [
          process.execPath,
          agentScript,
          JSON.stringify({ port: 4000 + j, backend: 'responder' }),
        ]),
      );
      await proc.waitForEvent((e) => e.event === 'ready', 15_000);
      return proc;
    }),
  );
  try {
    await Promise.all(agents.map((p) => p.request('start')));
    await sleep(10_000);
    const at10 = await agents[0].request('stats');
    await sleep(60_000);
    const at70 = await agents[0].request('stats');
    return {
      first10s: at10,
      next60s: Object.fromEntries(Object.entries(at70).map(([k, v]) => [k, v - (at10[k] ?? 0)])),
    };
  } finally {
    await Promise.all(agents.map((p) => p.stop()));
  }
}

const summary = (xs) => ({
  n: xs.length,
  p50: +median(xs).toFixed(1),
  p90: +percentile(xs, 90).toFixed(1),
  max: +Math.max(...xs).toFixed(1),
  min: +Math.min(...xs).toFixed(1),
});

export async function run() {
  const can = await canRunAvahiLan();
  if (!can.ok) {
    console.log(`mdns: skipped (${can.reason})`);
    return;
  }
  const lan = await AvahiLan.create({ hosts: 2 });
  const results = {};
  try {
    for (const backend of ['avahi', 'responder']) {
      const found = [];
      const gone = [];
      for (let i = 0; i < REPS; i++) {
        const r = await pair(lan, backend, i);
        found.push(...r.found);
        gone.push(r.goneMs);
        // Let the LAN's caches forget the stopped pair before the next repetition.
        await sleep(1500);
      }
      results[backend] = { startToFirstReportMs: summary(found), stopToDroppedMs: summary(gone) };
      console.log(
        `mdns ${backend}: start -> first report p50 ${results[backend].startToFirstReportMs.p50} ms, max ${results[backend].startToFirstReportMs.max} ms; stop -> dropped p50 ${results[backend].stopToDroppedMs.p50} ms (${REPS} pairs)`,
      );
    }
    results.responderDatagrams = await steady(lan);
    console.log(`mdns responder datagrams: ${JSON.stringify(results.responderDatagrams)}`);
  } finally {
    await lan.destroy();
  }
  console.log(
    `wrote ${writeResults('mdns', { reps: REPS, hosts: 'avahi LAN, 2 hosts each running avahi-daemon 0.8', ...results })}`,
  );
}
