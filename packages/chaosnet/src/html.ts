import type { ChaosReport, Path } from './types.js';

const pathColours: Record<Path, string> = {
  direct: '#2b8a3e',
  punched: '#1971c2',
  relayed: '#e67700',
  'http-relay': '#862e9c',
};

function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const W = 860;
const H = 220;
const M = { l: 48, r: 12, t: 12, b: 28 };

type Axis = { x0: number; x1: number; y0: number; y1: number };

function sx(a: Axis, x: number): number {
  return M.l + ((x - a.x0) / Math.max(1e-9, a.x1 - a.x0)) * (W - M.l - M.r);
}

function sy(a: Axis, y: number): number {
  return H - M.b - ((y - a.y0) / Math.max(1e-9, a.y1 - a.y0)) * (H - M.t - M.b);
}

/** Axes, ticks, and vertical marks (faults in orange, violations in red) for a time chart. */
function frame(
  a: Axis,
  yLabel: (y: number) => string,
  marks: ReadonlyArray<{ time: number; colour: string; title: string }>,
): string {
  const out: Array<string> = [];
  out.push(
    `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#999"/>`,
    `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#999"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const y = a.y0 + ((a.y1 - a.y0) * i) / 4;
    out.push(
      `<text x="${M.l - 4}" y="${sy(a, y) + 4}" text-anchor="end" font-size="10">${esc(yLabel(y))}</text>`,
      `<line x1="${M.l}" y1="${sy(a, y)}" x2="${W - M.r}" y2="${sy(a, y)}" stroke="#eee"/>`,
    );
  }
  for (let i = 0; i <= 6; i++) {
    const x = a.x0 + ((a.x1 - a.x0) * i) / 6;
    out.push(
      `<text x="${sx(a, x)}" y="${H - M.b + 14}" text-anchor="middle" font-size="10">${(x / 1000).toFixed(0)} s</text>`,
    );
  }
  for (const m of marks) {
    out.push(
      `<line x1="${sx(a, m.time)}" y1="${M.t}" x2="${sx(a, m.time)}" y2="${H - M.b}" stroke="${m.colour}" stroke-opacity="0.5"><title>${esc(m.title)}</title></line>`,
    );
  }
  return out.join('');
}

function svg(id: string, body: string): string {
  return `<svg id="${id}" viewBox="0 0 ${W} ${H}" width="100%" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">${body}</svg>`;
}

function polyline(points: Array<[number, number]>, colour: string, title: string): string {
  return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"><title>${esc(title)}</title></polyline>`;
}

function marksOf(r: ChaosReport) {
  return [
    ...r.faults
      .filter((f) => f.kind === 'fault')
      .map((f) => ({ time: f.time, colour: '#f08c00', title: `${f.time} ms: ${f.text}` })),
    ...r.violations.map((v) => ({
      time: v.time,
      colour: '#e03131',
      title: `${v.time} ms: ${v.kind}: ${v.text}`,
    })),
  ];
}

/** Share of live node pairs holding a connection, and live nodes, over time. */
function connectivityChart(r: ChaosReport): string {
  const s = r.samples;
  const n = Math.max(1, r.nodes.filter((x) => !x.helper).length);
  const a: Axis = { x0: 0, x1: Math.max(1, r.endedAt), y0: 0, y1: 1 };
  const share = s.map((p): [number, number] => [sx(a, p.time), sy(a, p.connectedShare)]);
  const live = s.map((p): [number, number] => [sx(a, p.time), sy(a, p.liveNodes / n)]);
  return svg(
    'chart-connectivity',
    frame(a, (y) => `${Math.round(y * 100)}%`, marksOf(r)) +
      polyline(live, '#adb5bd', 'live nodes (share of all nodes)') +
      polyline(share, '#1971c2', 'share of live node pairs holding a connection'),
  );
}

/** Connections by path over time, stacked. */
function pathMixChart(r: ChaosReport): string {
  const s = r.samples;
  const order: Array<Path> = ['direct', 'punched', 'relayed', 'http-relay'];
  const max = Math.max(1, ...s.map((p) => order.reduce((t, k) => t + p.links[k], 0)));
  const a: Axis = { x0: 0, x1: Math.max(1, r.endedAt), y0: 0, y1: max };
  let body = frame(a, (y) => y.toFixed(0), marksOf(r));
  const base = s.map(() => 0);
  for (const k of order) {
    const top = s.map((p, i) => base[i] + p.links[k]);
    const pts = [
      ...s.map((p, i) => `${sx(a, p.time).toFixed(1)},${sy(a, top[i]).toFixed(1)}`),
      ...[...s].map((p, i) => `${sx(a, p.time).toFixed(1)},${sy(a, base[i]).toFixed(1)}`).reverse(),
    ];
    body += `<polygon points="${pts.join(' ')}" fill="${pathColours[k]}" fill-opacity="0.7"><title>${k}</title></polygon>`;
    top.forEach((t, i) => (base[i] = t));
  }
  return svg('chart-paths', body);
}

/** Histogram of connect times (new connections), log-spaced buckets, by path. */
function connectTimeChart(r: ChaosReport): string {
  const ops = r.ops.filter(
    (o) => o.kind === 'connect' && o.outcome === 'ok' && o.reused === false && o.connectMs != null,
  );
  const edges = [0, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, Infinity];
  const order: Array<Path> = ['direct', 'punched', 'relayed', 'http-relay'];
  const counts = edges
    .slice(0, -1)
    .map(() => ({ direct: 0, punched: 0, relayed: 0, 'http-relay': 0 }));
  for (const o of ops) {
    const i = edges.findIndex((e, j) => o.connectMs! >= e && o.connectMs! < edges[j + 1]);
    if (i >= 0 && o.path != null) counts[i][o.path]++;
  }
  const max = Math.max(1, ...counts.map((c) => order.reduce((t, k) => t + c[k], 0)));
  const bw = (W - M.l - M.r) / counts.length;
  let body = `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#999"/>`;
  counts.forEach((c, i) => {
    let y = H - M.b;
    for (const k of order) {
      const h = (c[k] / max) * (H - M.t - M.b);
      if (h > 0) {
        body += `<rect x="${(M.l + i * bw + 2).toFixed(1)}" y="${(y - h).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="${pathColours[k]}"><title>${k}: ${c[k]}</title></rect>`;
      }
      y -= h;
    }
    const total = order.reduce((t, k) => t + c[k], 0);
    body += `<text x="${(M.l + (i + 0.5) * bw).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="10">${total || ''}</text>`;
    const label =
      edges[i + 1] === Infinity
        ? `≥${edges[i] / 1000} s`
        : `<${edges[i + 1] < 1000 ? `${edges[i + 1]} ms` : `${edges[i + 1] / 1000} s`}`;
    body += `<text x="${(M.l + (i + 0.5) * bw).toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle" font-size="10">${esc(label)}</text>`;
  });
  return svg('chart-connect-times', body);
}

function legend(): string {
  return Object.entries(pathColours)
    .map(([k, c]) => `<span class="key" style="background:${c}"></span>${esc(k)}`)
    .join(' ');
}

function table(head: Array<string>, rows: Array<Array<unknown>>): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</table>`;
}

/** The report as one self-contained HTML page: inline SVG charts, no scripts, nothing fetched. */
function renderHtml(r: ChaosReport): string {
  const s = r.summary;
  const ok = s.violations === 0;
  const unit = r.lab === 'sim' ? 'virtual time' : 'wall time';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>chaosnet report: ${esc(r.scenario.name)} (${esc(r.lab)}, seed ${r.seed})</title>
<style>
body{font-family:sans-serif;max-width:920px;margin:2em auto;color:#212529}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.6em}
.verdict{padding:.6em 1em;border-radius:4px;color:#fff;background:${ok ? '#2b8a3e' : '#c92a2a'}}
table{border-collapse:collapse;font-size:.85em;width:100%} td,th{border:1px solid #dee2e6;padding:2px 6px;text-align:left;vertical-align:top}
.key{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}
.none{color:#868e96} .small{font-size:.85em;color:#495057}
</style></head><body>
<h1>chaosnet: ${esc(r.scenario.name)} on ${esc(r.lab)}</h1>
<p class="verdict">${ok ? 'All invariants held: 0 violations' : `${s.violations} invariant violations`}</p>
<p>${r.nodes.filter((n) => !n.helper).length} nodes and ${r.nodes.filter((n) => n.helper).length} helpers, seed ${r.seed}, ${(r.endedAt / 1000).toFixed(0)} s of ${unit} (wall ${(r.wallMs / 1000).toFixed(1)} s).
${s.ops} operations: ${s.opsOk} ok, ${s.opsFailed} failed with typed errors, ${s.opsAborted} aborted by a kill, ${s.opsLate} settled late (more than ${r.scenario.invariants.lateMs} ms past their timeout, within the ${r.scenario.invariants.graceMs} ms grace); ${s.transfers} transfers (${(s.transferBytes / 2 ** 20).toFixed(1)} MiB) checked by SHA-256. ${s.faults} faults; the last ended at ${(r.lastFaultEndedAt / 1000).toFixed(1)} s; then ${s.convergence.connected}/${s.convergence.pairs} live pairs connected.</p>
<h2>Connectivity over time</h2>
<p class="small">Blue: share of live node pairs holding a connection; grey: live nodes. Orange marks: faults; red: violations (hover for details).</p>
${connectivityChart(r)}
<h2>Path mix over time</h2>
<p class="small">Connections held, by path:${legend()}</p>
${pathMixChart(r)}
<h2>Connect-time distribution</h2>
<p class="small">New connections by connect time and path (${s.connectMs.count}; p50 ${s.connectMs.p50.toFixed(0)} ms, p90 ${s.connectMs.p90.toFixed(0)} ms, p99 ${s.connectMs.p99.toFixed(0)} ms). Totals: ${Object.entries(
    s.pathMix,
  )
    .map(([k, n]) => `${esc(k)} ${n}`)
    .join(', ')}.</p>
${connectTimeChart(r)}
<h2>Invariant violations</h2>
${table(
  ['time (ms)', 'kind', 'node', 'details'],
  r.violations.map((v) => [v.time, v.kind, v.node ?? '', v.text]),
)}
<h2>Late settlements</h2>
${table(
  ['op', 'kind', 'from', 'to', 'start (ms)', 'ms past timeout', 'outcome'],
  r.ops
    .filter((o) => o.lateBy != null)
    .map((o) => [
      o.id,
      o.kind,
      o.node,
      o.target,
      o.start,
      o.lateBy,
      `${o.outcome}${o.error != null ? ` (${o.error})` : ''}`,
    ]),
)}
<h2>Faults</h2>
${table(
  ['time (ms)', 'what'],
  r.faults.map((f) => [f.time, `${f.kind}: ${f.text}`]),
)}
<h2>Failures by error</h2>
${table(
  ['error', 'count'],
  Object.entries(s.errors).sort((a, b) => b[1] - a[1]),
)}
<h2>Convergence after the last fault</h2>
${table(
  ['pair', 'connected', 'path', 'ms after the last fault', 'attempts', 'error'],
  r.convergence
    .filter((c) => !c.connected || c.attempts > 1)
    .map((c) => [
      `${c.a} - ${c.b}`,
      c.connected ? 'yes' : 'NO',
      c.path ?? '',
      c.afterLastFaultMs ?? '',
      c.attempts,
      c.error ?? '',
    ]),
)}
<p class="small">Pairs that connected at the first attempt are not listed (${r.convergence.filter((c) => c.connected && c.attempts === 1).length}).</p>
<h2>Nodes</h2>
${table(
  ['name', 'kind (at the end)', 'NodeId'],
  r.nodes.map((n) => [n.name, n.helper ? 'helper' : n.kind, n.nodeId]),
)}
</body></html>
`;
}

export { renderHtml };
