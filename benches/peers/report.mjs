// Markdown from one peers run (benches/results/peers.json): the per-pair table for
// benches/peers/README.md and a one-line summary for the root README, each written between
// its markers so the prose around them stays hand-written.
import fs from 'node:fs';

const stackNames = {
  'node-network': 'node-network (ours)',
  libp2p: 'js-libp2p',
  hyperdht: 'hyperdht',
};

const seconds = (ms) => (ms == null ? '' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);

function cell(p) {
  if (p == null) return '';
  if (!p.connected) {
    // The first error of the attempts, a code repeated by its message said once.
    const e = String(p.error ?? 'not connected')
      .split('; ')[0]
      .replace(/\b([A-Z_]{4,}): \1:/g, '$1:')
      .replace(/\s+/g, ' ')
      .replace(/\|/g, '/');
    return `no: ${e.length > 60 ? `${e.slice(0, 57)}...` : e}`;
  }
  const upgraded =
    p.directMs != null && p.connectMs != null && p.directMs - p.connectMs > 1
      ? ` (relayed at ${seconds(p.connectMs)}, direct at ${seconds(p.directMs)})`
      : '';
  return upgraded !== '' ? `**${p.path}**${upgraded}` : `**${p.path}** ${seconds(p.connectMs)}`;
}

function totals(s) {
  const mix = [
    ['direct', s.direct],
    ['punched', s.punched],
    ['relayed', s.relayed],
    ['http-relay', s.httpRelay],
  ]
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return `${s.connected}/${s.pairs}${mix !== '' ? ` (${mix})` : ''}`;
}

function peersTable(report) {
  const stacks = Object.keys(report.stacks);
  const byPair = new Map();
  for (const st of stacks) {
    for (const p of report.stacks[st].pairs) {
      const k = `${p.a} -> ${p.b}`;
      if (!byPair.has(k)) byPair.set(k, {});
      byPair.get(k)[st] = p;
    }
  }
  const head = `| pair (a dials b) | ${stacks.map((s) => stackNames[s] ?? s).join(' | ')} |`;
  const rule = `| --- | ${stacks.map(() => '---').join(' | ')} |`;
  const rows = [...byPair.entries()].map(
    ([k, v]) => `| ${k} | ${stacks.map((s) => cell(v[s])).join(' | ')} |`,
  );
  const total = `| **connected** | ${stacks.map((s) => `**${totals(report.stacks[s].summary)}**`).join(' | ')} |`;
  const v = report.versions;
  return [
    `Measured ${report.date} in one run (${(report.wallMs / 60_000).toFixed(1)} min, ${report.machine.cpus} cores shared with other work, so times are noisy): ` +
      `node-network ${v['node-network']}, libp2p ${v.libp2p} with @chainsafe/libp2p-quic ${v['@chainsafe/libp2p-quic']}, ` +
      `@libp2p/circuit-relay-v2 ${v['@libp2p/circuit-relay-v2']}, @libp2p/dcutr ${v['@libp2p/dcutr']}, ` +
      `hyperdht ${v.hyperdht} with blind-relay ${v['blind-relay']}, Node ${v.node}; ` +
      `connect timeout ${report.timeoutMs / 1000} s per pair, ${report.concurrency} pairs at a time.`,
    '',
    head,
    rule,
    total,
    ...rows,
  ].join('\n');
}

function summaryLine(report) {
  return (
    `Side by side on the same netns NATs (${report.date.slice(0, 10)}, ${report.stacks['node-network']?.summary.pairs ?? '?'} pairs): ` +
    Object.entries(report.stacks)
      .map(([s, r]) => `${stackNames[s] ?? s} ${totals(r.summary)}`)
      .join('; ') +
    ' ([table](benches/peers/README.md), `sudo pnpm bench peers`).'
  );
}

/**
 * Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in `file`, indented
 * as the start marker is (a marker inside a list item keeps the text in that item).
 */
function replaceBetween(file, name, text) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const s = fs.readFileSync(file, 'utf8');
  const i = s.indexOf(start);
  const j = s.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file} has no ${start} ... ${end} markers`);
  const indent = /[ \t]*$/.exec(s.slice(0, i))[0];
  const body = text
    .split('\n')
    .map((l) => (l === '' ? l : `${indent}${l}`))
    .join('\n');
  fs.writeFileSync(file, `${s.slice(0, i + start.length)}\n${body}\n${indent}${s.slice(j)}`);
}

export { peersTable, summaryLine, replaceBetween };
