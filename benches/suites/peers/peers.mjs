// `pnpm bench peers` (root): the connectivity matrix side by side with js-libp2p and hyperdht on
// one netns lab (benches/peers). Writes benches/results/peers.json, then the table in
// benches/peers/README.md and the summary line in the root README from that same run.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResults } from '../../lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function run() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    console.log(
      'peers: skipped (it builds network namespaces with kernel NATs: run as root on Linux, e.g. `sudo pnpm bench peers`)',
    );
    return;
  }
  const { runPeers } = await import('../../peers/run.mjs');
  const { peersTable, summaryLine, replaceBetween } = await import('../../peers/report.mjs');
  const kinds = process.env.PEERS_KINDS?.split(',');
  const report = await runPeers({ ...(kinds != null ? { kinds } : {}) });
  const file = writeResults('peers', report);
  const written = JSON.parse(fs.readFileSync(file, 'utf8'));
  replaceBetween(
    path.join(root, 'benches', 'peers', 'README.md'),
    'peers-table',
    peersTable(written),
  );
  replaceBetween(path.join(root, 'README.md'), 'peers-summary', summaryLine(written));
  for (const [stack, r] of Object.entries(report.stacks)) {
    const s = r.summary;
    console.log(
      `${stack}: ${s.connected}/${s.pairs} connected (${s.direct} direct, ${s.punched} punched, ${s.relayed} relayed, ${s.httpRelay} http-relay)`,
    );
  }
  console.log(`wrote ${file}`);
}

export { run };
