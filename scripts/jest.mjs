#!/usr/bin/env node
// Runs jest over every package (ESM, so with --experimental-vm-modules) and
// ends with one plain summary line: "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const jestBin = require.resolve('jest/bin/jest');
const dir = mkdtempSync(path.join(tmpdir(), 'nn-jest-'));
const out = path.join(dir, 'results.json');
const r = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings',
    jestBin,
    '--json',
    `--outputFile=${out}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
let summary = null;
try {
  summary = JSON.parse(readFileSync(out, 'utf8'));
} catch {
  // jest died before writing results
}
rmSync(dir, { recursive: true, force: true });
if (summary == null) {
  console.log('0 passed, 1 failed');
  process.exit(r.status || 1);
}
const skipped = summary.numPendingTests + summary.numTodoTests;
const failed = summary.numFailedTests + summary.numRuntimeErrorTestSuites;
console.log(`\n${summary.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status ?? 1);
