/**
 * The chaos run in network namespaces (root; skips and says why otherwise,
 * fails in CI): real node processes behind kernel NATs of every kind, one
 * fault of every kind, then the convergence check. Every `nnchaos`
 * namespace it made (and so every agent process in them) must be gone afterwards.
 */
import { describe, test, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canRunNetns, loadScenario, runChaos } from '../src/index.js';
import { unexpectedViolations } from './utils.js';

const scenarios = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

const can = await canRunNetns();
if (!can.ok) {
  if (process.env.CI === 'true') throw new Error(`netns chaos cannot run in CI: ${can.reason}`);
  console.warn(`Skipping the netns chaos run: ${can.reason}`);
}
const maybe = can.ok ? describe : describe.skip;

maybe('chaosnet in network namespaces', () => {
  test('netns-ci: every NAT kind and every fault kind on real processes, the invariants hold, nothing is left behind', async () => {
    const scenario = loadScenario(path.join(scenarios, 'netns-ci.json'));
    const r = await runChaos({ scenario, lab: 'netns' });
    console.log(
      `netns-ci: ${r.summary.ops} operations, ${r.summary.faults} faults, ${r.summary.convergence.connected}/${r.summary.convergence.pairs} pairs after the last fault, ${(r.wallMs / 1000).toFixed(0)} s`,
    );
    expect(unexpectedViolations(r)).toEqual([]);
    expect(r.lab).toBe('netns');
    expect(r.summary.ops).toBeGreaterThan(40);
    expect(r.summary.transfers).toBeGreaterThan(3);
    expect(r.summary.faults).toBeGreaterThanOrEqual(6);
    expect(r.events.filter((e) => e.kind === 'fault-error')).toEqual([]);
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.startsWith(`nnchaos${process.pid}x`));
    expect(left).toEqual([]);
  }, 600_000);
});
