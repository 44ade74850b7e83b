// Signalling at scale in netsim (runSignalScale from @node-network/matrix): N facade nodes, 1% of
// them open (at least 3), the rest behind full-cone, restricted, port-restricted, double-nat and
// symmetric NATs in turn. Every node joins within 20 virtual seconds and opens its overlay (the 8
// closest nodes plus one per k-bucket, signalled and punched where the far side is NATed); then
// random NATed pairs connect by signalling. Reported: hops each signal took (p50/p99 against
// log2 n), signal messages each node handled, overlay and pair success, wall time and heap.
//
// Each size runs in its own process (it needs a large heap: ~1 GB at 1,000 nodes).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeResults } from '../../lib.mjs';

const self = fileURLToPath(import.meta.url);
const sizes = (process.env.SIGNAL_SCALE_SIZES ?? '100,1000').split(',').map(Number);
const pairsFor = (n) => (n >= 1000 ? 300 : 50);

async function measure(nodes) {
  const { runSignalScale } = await import('../../../packages/matrix/dist/index.js');
  const t0 = performance.now();
  const r = await runSignalScale({
    nodes,
    open: Math.max(3, Math.floor(nodes / 100)),
    pairs: pairsFor(nodes),
    seed: 1,
  });
  return { ...r, wallMs: Math.round(performance.now() - t0) };
}

export async function run() {
  const results = [];
  for (const n of sizes) {
    const out = execFileSync(process.execPath, ['--max-old-space-size=16000', self, String(n)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 2 ** 20,
    });
    const r = JSON.parse(out.trim().split('\n').pop());
    results.push(r);
    console.log(
      `${n} nodes: pairs ${r.connected}/${r.pairs}, overlay ${r.overlay.opened}/${r.overlay.wanted}, ` +
        `hops p50 ${r.hops.p50} p99 ${r.hops.p99} (log2 n ${r.log2n.toFixed(1)}), ` +
        `signal msgs/node mean ${r.messagesPerNode.mean.toFixed(2)} max ${r.messagesPerNode.max}, ` +
        `${(r.wallMs / 1000).toFixed(0)} s wall, ${Math.round(r.heapUsedMB)} MB heap`,
    );
  }
  console.log(`wrote ${writeResults('signalling', { results })}`);
}

if (process.argv[1] === self) {
  const r = await measure(Number(process.argv[2]));
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
