import type { ChaosReport, Path, ViolationKind } from './types.js';
import fs from 'node:fs';
import path from 'node:path';
import { renderHtml } from './html.js';
import { percentile } from './utils.js';

/** The report's summary from its operations, faults, violations and convergence records. */
function summarise(r: Omit<ChaosReport, 'summary'>, faults: number): ChaosReport['summary'] {
  // The convergence check's attempts are counted by its own records, not as operations.
  const ops = r.ops.filter((o) => o.by !== 'convergence');
  const pathMix: Record<Path, number> = { direct: 0, punched: 0, relayed: 0, 'http-relay': 0 };
  const connectMs: Array<number> = [];
  const errors: Record<string, number> = {};
  for (const o of r.ops) {
    if (o.outcome === 'ok' && o.kind === 'connect' && o.reused === false && o.path != null) {
      pathMix[o.path]++;
      if (o.connectMs != null) connectMs.push(o.connectMs);
    }
  }
  for (const o of ops) {
    if (o.outcome === 'failed' && o.error != null) errors[o.error] = (errors[o.error] ?? 0) + 1;
  }
  connectMs.sort((a, b) => a - b);
  const violationsByKind: Partial<Record<ViolationKind, number>> = {};
  for (const v of r.violations) violationsByKind[v.kind] = (violationsByKind[v.kind] ?? 0) + 1;
  const transfers = ops.filter((o) => o.kind === 'transfer' && o.outcome === 'ok');
  const conv = r.convergence;
  return {
    ops: ops.length,
    opsLate: ops.filter((o) => o.lateBy != null).length,
    opsOk: ops.filter((o) => o.outcome === 'ok').length,
    opsFailed: ops.filter((o) => o.outcome === 'failed').length,
    opsAborted: ops.filter((o) => o.outcome === 'aborted').length,
    transfers: transfers.length,
    transferBytes: transfers.reduce((s, o) => s + (o.bytes ?? 0), 0),
    faults,
    violations: r.violations.length,
    violationsByKind,
    pathMix,
    connectMs: {
      p50: percentile(connectMs, 0.5),
      p90: percentile(connectMs, 0.9),
      p99: percentile(connectMs, 0.99),
      max: connectMs.at(-1) ?? 0,
      count: connectMs.length,
    },
    convergence: {
      pairs: conv.length,
      connected: conv.filter((c) => c.connected).length,
      maxAfterLastFaultMs: Math.max(0, ...conv.map((c) => c.afterLastFaultMs ?? 0)),
    },
    errors,
  };
}

/** A few lines for the terminal: what ran, what broke, whether the invariants held. */
function formatSummary(r: ChaosReport): string {
  const s = r.summary;
  const unit = r.lab === 'sim' ? 'virtual ' : '';
  const lines = [
    `chaosnet ${r.scenario.name} on ${r.lab}: ${r.nodes.filter((n) => !n.helper).length} nodes + ${r.nodes.filter((n) => n.helper).length} helpers, seed ${r.seed}, ${(r.endedAt / 1000).toFixed(0)} ${unit}s (wall ${(r.wallMs / 1000).toFixed(1)} s)`,
    `operations: ${s.ops} (${s.opsOk} ok, ${s.opsFailed} failed with typed errors, ${s.opsAborted} aborted by a kill; ${s.opsLate} settled late, within the grace); ${s.transfers} transfers, ${(s.transferBytes / 2 ** 20).toFixed(1)} MiB checked end to end`,
    `new connections by path: ${Object.entries(s.pathMix)
      .map(([p, n]) => `${p} ${n}`)
      .join(
        ', ',
      )}; connect time p50 ${s.connectMs.p50.toFixed(0)} ms, p90 ${s.connectMs.p90.toFixed(0)} ms, max ${s.connectMs.max.toFixed(0)} ms`,
    `faults: ${s.faults}; after the last one (at ${(r.lastFaultEndedAt / 1000).toFixed(1)} s) ${s.convergence.connected}/${s.convergence.pairs} live pairs connected`,
    s.violations === 0
      ? 'invariants: 0 violations (integrity, typed errors, no hangs, convergence, bounded growth)'
      : `invariants: ${s.violations} VIOLATIONS: ${Object.entries(s.violationsByKind)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
  ];
  for (const v of r.violations.slice(0, 10)) lines.push(`  ${v.time} ms ${v.kind}: ${v.text}`);
  return lines.join('\n');
}

/** Writes `chaos-report.json` and `chaos-report.html` into `dir`; returns their paths. */
function writeReport(r: ChaosReport, dir: string): { json: string; html: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'chaos-report.json');
  const html = path.join(dir, 'chaos-report.html');
  fs.writeFileSync(json, `${JSON.stringify(r, null, 1)}\n`);
  fs.writeFileSync(html, renderHtml(r));
  return { json, html };
}

export { summarise, formatSummary, writeReport };
