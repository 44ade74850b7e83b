#!/usr/bin/env node
import type { Kind, MatrixReport } from '../types.js';
import fs from 'node:fs';
import { kinds } from '../types.js';
import { formatTable } from '../report.js';

const usage = `usage: node-network-matrix --lab netns|sim [--json FILE] [--kinds k1,k2,...] [--seed N]
  netns: real kernel NATs in network namespaces (root; ~5 min)
  sim:   the in-process simulator (deterministic from --seed; seconds)
kinds: ${kinds.join(', ')}`;

async function main(argv: Array<string>): Promise<number> {
  let lab: string | undefined;
  let json: string | undefined;
  let only: Array<Kind> | undefined;
  let seed = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v == null) throw new Error(`${a} needs a value\n${usage}`);
      return v;
    };
    if (a === '--lab') lab = value();
    else if (a === '--json') json = value();
    else if (a === '--seed') seed = Number(value());
    else if (a === '--kinds') {
      only = value().split(',') as Array<Kind>;
      const bad = only.filter((k) => !kinds.includes(k));
      if (bad.length > 0) throw new Error(`Unknown kinds ${bad.join(', ')}\n${usage}`);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`${usage}\n`);
      return 0;
    } else throw new Error(`Unknown argument ${a}\n${usage}`);
  }
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer\n${usage}`);
  let report: MatrixReport;
  if (lab === 'sim') {
    const { runSimMatrix } = await import('../sim.js');
    report = await runSimMatrix({ seed, kinds: only });
  } else if (lab === 'netns') {
    const { runNetnsMatrix } = await import('../netns.js');
    report = await runNetnsMatrix({ kinds: only });
  } else {
    throw new Error(`--lab must be netns or sim\n${usage}`);
  }
  process.stdout.write(`${formatTable(report)}\n`);
  if (json != null) fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  },
);
