// netsim at scale: how many simulated nodes one process carries, the heap each costs, and how
// many simulator events (timers: deliveries, retransmissions, keepalives) run per wall second.
//  - connections: N nodes behind the nine NAT kinds' models (round robin), each holding a
//    simulated connection (VirtualConnectionTransport) to one of 10 public servers, opening one
//    echo stream, then idling with keepalives for two virtual minutes.
//  - facades: N full NodeNetwork facades (RPC and all) on netsim, each connecting to a helper
//    and pinging it.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Logger, { LogLevel } from '@matrixai/logger';
import {
  Network,
  VirtualConnectionTransport,
  addSite,
} from '../../../packages/netsim/dist/index.js';
import { NodeNetwork } from '../../../packages/node-network/dist/index.js';
import { kinds as allKinds } from '../../../packages/matrix/dist/index.js';
import { writeResults } from '../../lib.mjs';

const self = fileURLToPath(import.meta.url);
// Every matrix kind that can carry IPv4 UDP.
const kinds = allKinds.filter((k) => k !== 'udp-blocked' && k !== 'ipv6-only');
const gc = () => globalThis.gc?.();
const heap = () => (gc(), process.memoryUsage().heapUsed);
const id = (n) => {
  const b = new Uint8Array(32);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

async function connections(n) {
  const net = new Network({ seed: 1, latency: 20, jitter: 5 });
  const stop = net.clock.autoRun();
  const h0 = heap();
  const servers = [];
  for (let i = 0; i < 10; i++) {
    const host = net.addHost({ name: `s${i}`, ipv4: `198.51.100.${10 + i}` });
    const t = new VirtualConnectionTransport({ network: net, host, nodeId: id(1e7 + i) });
    await t.start({ port: 1314 });
    t.onConnection((c) => c.onStream((s) => void s.readable.pipeTo(s.writable).catch(() => {})));
    servers.push(t);
  }
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const { host } = addSite(net, kinds[i % kinds.length], { name: `n${i}`, index: 300 + i });
    const t = new VirtualConnectionTransport({ network: net, host, nodeId: id(i) });
    await t.start();
    nodes.push(t);
  }
  const t0 = performance.now();
  const e0 = net.clock.timersRun;
  const v0 = net.clock.now();
  let echoed = 0;
  await Promise.all(
    nodes.map(async (t, i) => {
      const s = servers[i % servers.length];
      const c = await t.dial(s.nodeId, s.localAddresses[0]);
      const st = await c.openStream();
      const w = st.writable.getWriter();
      await w.write(Uint8Array.of(i & 0xff));
      await w.close();
      const r = st.readable.getReader();
      while (!(await r.read()).done) echoed++;
    }),
  );
  // Two virtual minutes of idle connections: keepalives every 10 s hold the NAT mappings.
  await new Promise((resolve) => net.clock.setTimer(120_000, resolve));
  const wallMs = performance.now() - t0;
  const events = net.clock.timersRun - e0;
  const h1 = heap();
  const alive = nodes.filter((t) => t.localAddresses.length > 0).length;
  stop();
  return {
    scenario: 'connections',
    nodes: n,
    echoed,
    alive,
    virtualMs: Math.round(net.clock.now() - v0),
    wallMs: Math.round(wallMs),
    events,
    eventsPerSecond: Math.round(events / (wallMs / 1000)),
    datagrams: net.stats,
    heapPerNodeKiB: +((h1 - h0) / n / 1024).toFixed(1),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}

async function facades(n) {
  const net = new Network({ seed: 2, latency: 20 });
  const stop = net.clock.autoRun();
  const logger = new Logger('bench', LogLevel.ERROR);
  const make = async (host, i, port = 0) => {
    const transport = new VirtualConnectionTransport({ network: net, host, nodeId: id(i) });
    await transport.start({ port });
    return NodeNetwork.createNodeNetwork({
      network: 'mainnet',
      transport,
      clock: net.clock,
      logger,
    });
  };
  const h0 = heap();
  const helper = await make(net.addHost({ name: 'helper', ipv4: '198.51.100.1' }), 1e7, 1314);
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const { host } = addSite(net, kinds[i % kinds.length], { name: `f${i}`, index: 300 + i });
    nodes.push(await make(host, i));
  }
  const t0 = performance.now();
  const e0 = net.clock.timersRun;
  let pinged = 0;
  await Promise.all(
    nodes.map(async (nn) => {
      await nn.connect(helper.nodeId, ['198.51.100.1:1314']);
      await nn.ping(helper.nodeId);
      pinged++;
    }),
  );
  const wallMs = performance.now() - t0;
  const events = net.clock.timersRun - e0;
  const h1 = heap();
  for (const nn of nodes) await nn.stop();
  await helper.stop();
  stop();
  return {
    scenario: 'facades',
    nodes: n,
    pinged,
    wallMs: Math.round(wallMs),
    events,
    eventsPerSecond: Math.round(events / (wallMs / 1000)),
    heapPerNodeKiB: +((h1 - h0) / n / 1024).toFixed(1),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}

/** Each scenario in its own process, so one's garbage never blurs another's heap figure. */
export async function run() {
  const results = [];
  for (const [scenario, n] of [
    ['facades', 1_000],
    ['connections', 1_000],
    ['connections', 10_000],
  ]) {
    const out = execFileSync(process.execPath, ['--expose-gc', self, scenario, String(n)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r = JSON.parse(out.trim().split('\n').pop());
    console.log(JSON.stringify(r));
    results.push(r);
  }
  console.log(`wrote ${writeResults('netsim', { results })}`);
}

if (process.argv[1] === self) {
  const [scenario, n] = process.argv.slice(2);
  const r = await { facades, connections }[scenario](Number(n));
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
