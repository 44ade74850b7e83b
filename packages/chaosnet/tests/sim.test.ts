import { describe, test, expect } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChaos, loadScenario, writeReport, events } from '../src/index.js';
import { tinyScenario, reproducible, unexpectedViolations } from './utils.js';

const scenarios = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

describe('chaosnet on netsim', () => {
  test('the small scenario (every NAT kind, every fault kind): the invariants hold, the report is complete', async () => {
    const scenario = loadScenario(path.join(scenarios, 'small.json'));
    const snapshots: Array<unknown> = [];
    const t0 = performance.now();
    const r = await runChaos({
      scenario,
      onRun: (run) =>
        run.addEventListener(events.EventChaosSnapshot.name, (e) =>
          snapshots.push((e as events.EventChaosSnapshot).detail),
        ),
    });
    console.log(`small scenario: ${((performance.now() - t0) / 1000).toFixed(1)} s wall`);
    expect(unexpectedViolations(r)).toEqual([]);
    // It did real work under every kind of fault.
    expect(r.summary.ops).toBeGreaterThan(50);
    expect(r.summary.transfers).toBeGreaterThan(3);
    expect(r.summary.faults).toBe(scenario.faults.schedule.length);
    for (const kind of [
      /^kill n/,
      /^NAT of/,
      /^kill relay/,
      /^partition/,
      /% loss on/,
      /^public address/,
      /ms latency on/,
    ]) {
      const seen = r.faults.some((f) => f.kind === 'fault' && kind.test(f.text));
      expect({ kind: String(kind), seen }).toEqual({ kind: String(kind), seen: true });
    }
    expect(r.convergence.length).toBe(36);
    expect(Object.values(r.summary.pathMix).every((n) => n > 0)).toBe(true);
    // The snapshot, live and in the report, in the dashboard's shape.
    expect(snapshots.length).toBeGreaterThan(10);
    const snap = r.snapshot;
    expect(snap.source).toBe('chaosnet');
    expect(snap.nodes).toHaveLength(16);
    expect(snap.nodes[0]).toMatchObject({
      id: expect.any(String),
      label: 'seed0',
      up: true,
      relay: true,
    });
    for (const l of snap.links) {
      expect(['direct', 'punched', 'relayed', 'http-relay']).toContain(l.path);
      expect(snap.nodes.some((n) => n.id === l.a)).toBe(true);
    }
    expect(snap.events.every((e) => typeof e.time === 'number' && typeof e.text === 'string')).toBe(
      true,
    );
    // The files: JSON that parses back, HTML with its three charts and nothing fetched.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-report-'));
    try {
      const files = writeReport(r, dir);
      const back = JSON.parse(fs.readFileSync(files.json, 'utf8'));
      expect(back.summary).toEqual(r.summary);
      expect(back.snapshot.source).toBe('chaosnet');
      const html = fs.readFileSync(files.html, 'utf8');
      for (const id of ['chart-connectivity', 'chart-paths', 'chart-connect-times']) {
        expect(html).toContain(`<svg id="${id}"`);
      }
      expect(html).toContain('<polyline');
      expect(html).not.toMatch(/<script|src="http|href="http/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  test('a run repeats exactly from its seed; another seed gives another run', async () => {
    const a = await runChaos({ scenario: tinyScenario() });
    const b = await runChaos({ scenario: tinyScenario() });
    expect(reproducible(b)).toEqual(reproducible(a));
    expect(a.ops.length).toBeGreaterThan(10);
    const c = await runChaos({ scenario: tinyScenario({ seed: 4 }) });
    expect(reproducible(c)).not.toEqual(reproducible(a));
  }, 180_000);

  test('a node whose sink flips a bit is caught: altered bytes are a violation', async () => {
    const r = await runChaos({
      scenario: tinyScenario({
        work: { weights: { transfer: 1 }, transferBytes: [4096, 8192], intervalMs: [500, 1500] },
        faults: { schedule: [] },
        durationMs: 15_000,
      }),
      tamper: ['n2'],
    });
    const altered = r.violations.filter((v) => v.kind === 'altered-bytes');
    expect(altered.length).toBeGreaterThan(0);
    expect(altered.every((v) => / -> n2 /.test(v.text))).toBe(true);
    // Transfers to the other nodes stay intact.
    const intact = r.ops.filter(
      (o) => o.kind === 'transfer' && o.outcome === 'ok' && o.target !== 'n2',
    );
    expect(intact.length).toBeGreaterThan(0);
  }, 120_000);
});
