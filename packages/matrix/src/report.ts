import type { MatrixReport } from './types.js';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The report as a text table: one line per pair, then the summary and the NAT beliefs. */
function formatTable(report: MatrixReport): string {
  const rows = report.pairs.map((p) => [
    p.a,
    p.b,
    p.connected ? 'yes' : 'no',
    p.path == null ? '-' : p.circuit != null ? `${p.path} (${p.circuit})` : p.path,
    p.connectMs == null ? '-' : p.connectMs.toFixed(0),
    p.error ?? '',
  ]);
  const head = ['a', 'b', 'connected', 'path', 'ms', 'error'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  widths[5] = 0;
  const line = (r: Array<string>) =>
    r
      .map((c, i) => pad(c, widths[i]))
      .join('  ')
      .trimEnd();
  const out = [`connectivity matrix (${report.lab})`, line(head), ...rows.map(line)];
  const s = report.summary;
  out.push(
    `${s.connected}/${s.pairs} pairs connected (${s.direct} direct, ${s.punched} punched, ${s.relayed} relayed, ${s.httpRelay} over the HTTP relay) in ${(report.wallMs / 1000).toFixed(1)} s`,
  );
  out.push('', 'NAT classification per kind (ipv4 | ipv6):');
  for (const n of report.nat) {
    const f = (c: MatrixReport['nat'][number]['ipv4']) =>
      c.mapping === 'unknown'
        ? 'unknown'
        : `${c.mapping}, ports ${c.allocation}, filtering ${c.filtering}, ${c.observers} observers`;
    out.push(`  ${pad(n.kind, 16)} ${f(n.ipv4)} | ${f(n.ipv6)}`);
  }
  return out.join('\n');
}

export { formatTable };
