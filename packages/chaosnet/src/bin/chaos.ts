#!/usr/bin/env node
import { serveDashboard } from 'node-network';
import type { ChaosEvent } from '../types.js';
import path from 'node:path';
import { loadScenario, parseScenario } from '../scenario.js';
import { formatSummary, writeReport } from '../report.js';
import { runChaos, scenariosDir } from '../run.js';
import * as events from '../events.js';

const usage = `usage: node-network-chaos [--scenario FILE] [--lab sim|netns] [--seed N] [--nodes N]
                          [--duration MS] [--out DIR] [--tamper NODE] [--quiet] [--allow-violations]
                          [--dashboard PORT]
  --scenario  a scenario file (default: the package's scenarios/default.json)
  --lab       sim: netsim, in-process, reproducible from the seed (default)
              netns: real node processes and kernel NATs in network namespaces (root)
  --out       where chaos-report.json and chaos-report.html go (default ./chaos-report)
  --tamper    a node whose sink flips a bit (shows the integrity invariant failing)
  --dashboard serve the live network on http://127.0.0.1:PORT/ while the run lasts
exit status: 0 when every invariant held, 3 when one did not (0 with --allow-violations), 2 on errors`;

async function main(argv: Array<string>): Promise<number> {
  let file = path.join(scenariosDir, 'default.json');
  let lab: 'sim' | 'netns' = 'sim';
  let out = 'chaos-report';
  let quiet = false;
  let allow = false;
  let dashboardPort: number | undefined;
  const tamper: Array<string> = [];
  const overrides: Record<string, number> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v == null) throw new Error(`${a} needs a value\n${usage}`);
      return v;
    };
    if (a === '--scenario') file = value();
    else if (a === '--lab') {
      const v = value();
      if (v !== 'sim' && v !== 'netns') throw new Error(`--lab must be sim or netns\n${usage}`);
      lab = v;
    } else if (a === '--seed') overrides.seed = Number(value());
    else if (a === '--nodes') overrides.nodes = Number(value());
    else if (a === '--duration') overrides.durationMs = Number(value());
    else if (a === '--out') out = value();
    else if (a === '--tamper') tamper.push(value());
    else if (a === '--quiet') quiet = true;
    else if (a === '--allow-violations') allow = true;
    else if (a === '--dashboard') dashboardPort = Number(value());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${usage}\n`);
      return 0;
    } else throw new Error(`Unknown argument ${a}\n${usage}`);
  }
  const base = loadScenario(file);
  // Overrides go through the same checks as the file.
  const scenario = parseScenario({
    ...base,
    ...overrides,
    faults: {
      schedule: base.faults.schedule,
      ...(base.faults.random != null ? { random: base.faults.random } : {}),
    },
  });
  if (lab === 'netns') {
    const { canRunNetns } = await import('../NetnsLab.js');
    const can = await canRunNetns();
    if (!can.ok) {
      process.stdout.write(`Skipping the netns chaos run: ${can.reason}\n`);
      return 0;
    }
  }
  const unit = lab === 'sim' ? 'virtual ' : '';
  process.stdout.write(
    `chaosnet: ${scenario.name} (${path.relative(process.cwd(), file) || file}) on ${lab}, ${scenario.nodes} nodes, seed ${scenario.seed}, ${scenario.durationMs / 1000} ${unit}s of chaos, then the convergence check\n`,
  );
  // The live network in a browser (node-network's dashboard page) while the run lasts.
  let dashboard: { stop(): Promise<void> } | undefined;
  const report = await runChaos({
    scenario,
    lab,
    tamper,
    onRun: (run) => {
      if (dashboardPort != null) {
        void serveDashboard({ port: dashboardPort, snapshot: () => run.snapshot() }).then(
          (d) => {
            dashboard = d;
            process.stdout.write(`dashboard: http://127.0.0.1:${dashboardPort}/\n`);
          },
          (e) => process.stderr.write(`dashboard: ${(e as Error).message}\n`),
        );
      }
      if (quiet) return;
      const print = (e: ChaosEvent) => {
        if (e.kind === 'late') return;
        process.stdout.write(
          `  ${(e.time / 1000).toFixed(1).padStart(6)} s  ${e.kind.padEnd(12)} ${e.text}\n`,
        );
      };
      run.addEventListener(events.EventChaosLog.name, (e) =>
        print((e as events.EventChaosLog).detail),
      );
    },
  });
  await dashboard?.stop();
  const files = writeReport(report, out);
  process.stdout.write(
    `\n${formatSummary(report)}\n\nreport: ${files.json}\n        ${files.html}\n`,
  );
  return report.summary.violations === 0 || allow ? 0 : 3;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${(e as Error).name}: ${(e as Error).message}\n`);
    process.exit(2);
  },
);
