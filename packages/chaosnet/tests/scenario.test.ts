import { describe, test, expect } from '@jest/globals';
import { test as testProp, fc } from '@fast-check/jest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseScenario,
  parseScenarioText,
  loadScenario,
  scenarioDefault,
  errors,
} from '../src/index.js';
import { faultKinds } from '../src/scenario.js';

const scenarios = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

/** The ErrorChaosScenario a call throws (failing the test if it throws anything else or nothing). */
function scenarioError(f: () => unknown): InstanceType<typeof errors.ErrorChaosScenario> {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(errors.ErrorChaosScenario);
    return e as InstanceType<typeof errors.ErrorChaosScenario>;
  }
  throw new Error('expected an ErrorChaosScenario');
}

/** Valid scenarios: nodes, times and faults within their ranges. */
const validScenario = fc
  .record({
    seed: fc.nat(),
    nodes: fc.integer({ min: 2, max: 40 }),
    durationMs: fc.integer({ min: 1000, max: 3_600_000 }),
    weights: fc.record({
      connect: fc.nat({ max: 10 }),
      rpc: fc.integer({ min: 1, max: 10 }),
      transfer: fc.nat({ max: 10 }),
      lookup: fc.nat({ max: 10 }),
      disconnect: fc.nat({ max: 10 }),
    }),
    faults: fc.array(
      fc.record({
        kind: fc.constantFrom(...faultKinds),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        n: fc.nat(),
        d: fc.integer({ min: 1, max: 100_000 }),
      }),
      { maxLength: 8 },
    ),
  })
  .map(({ seed, nodes, durationMs, weights, faults }) => ({
    name: `s${seed}`,
    seed,
    nodes,
    durationMs,
    work: { weights, intervalMs: [100, 200], transferBytes: [1, 1024], opTimeoutMs: 5000 },
    faults: {
      schedule: faults.map(({ kind, at, n, d }) => {
        const node = `n${n % nodes}`;
        const t = Math.floor(at * durationMs);
        switch (kind) {
          case 'kill':
            return { at: t, kind, node, downMs: d };
          case 'nat':
            return { at: t, kind, node, to: 'symmetric' };
          case 'address':
            return { at: t, kind, node };
          case 'partition':
            return { at: t, kind, nodes: [node], durationMs: d };
          case 'loss':
            return { at: t, kind, node: 'all', percent: n % 101, durationMs: d };
          case 'latency':
            return { at: t, kind, node, ms: n % 1000, durationMs: d };
          case 'kill-relay':
            return { at: t, kind, downMs: d, windowMs: d };
        }
      }),
    },
  }));

describe('scenario files', () => {
  test('the shipped scenarios parse', () => {
    for (const f of fs.readdirSync(scenarios)) {
      const s = loadScenario(path.join(scenarios, f));
      expect(s.nodes).toBeGreaterThanOrEqual(2);
    }
    const n30 = loadScenario(path.join(scenarios, 'netns-30.json'));
    expect(n30.nodes).toBeGreaterThanOrEqual(30);
    expect(n30.durationMs).toBe(600_000);
    expect(Object.keys(n30.nat).sort()).toEqual(Object.keys(scenarioDefault.nat).sort());
  });

  test('defaults fill what a file leaves out', () => {
    expect(parseScenario({})).toEqual(scenarioDefault);
    expect(parseScenario({ nodes: 3, work: { opTimeoutMs: 1000 } }).work).toEqual({
      ...scenarioDefault.work,
      opTimeoutMs: 1000,
    });
  });

  test('each malformed field is named by a typed error', () => {
    const cases: Array<[unknown, string]> = [
      [[], ''],
      [{ nodez: 3 }, 'nodez'],
      [{ nodes: 1 }, 'nodes'],
      [{ nodes: 2.5 }, 'nodes'],
      [{ seed: -1 }, 'seed'],
      [{ durationMs: Infinity }, 'durationMs'],
      [{ nat: { open: 0 } }, 'nat'],
      [{ nat: { nat64: 1 } }, 'nat.nat64'],
      [{ work: { intervalMs: [5, 1] } }, 'work.intervalMs'],
      [{ work: { weights: { connect: -1 } } }, 'work.weights.connect'],
      [{ faults: { schedule: [{ kind: 'meteor', at: 0 }] } }, 'faults.schedule[0].kind'],
      [
        { durationMs: 10, faults: { schedule: [{ kind: 'address', at: 11, node: 'n0' }] } },
        'faults.schedule[0].at',
      ],
      [
        { nodes: 3, faults: { schedule: [{ kind: 'address', at: 0, node: 'n3' }] } },
        'faults.schedule[0].node',
      ],
      [
        { faults: { schedule: [{ kind: 'kill', at: 0, node: 'n0', downMs: 5, extra: 1 }] } },
        'faults.schedule[0].extra',
      ],
      [{ faults: { random: { count: 1, kinds: [] } } }, 'faults.random.kinds'],
      [{ invariants: { lateMs: 10, graceMs: 5 } }, 'invariants.lateMs'],
      [JSON.parse('{"__proto__": {"nodes": 3}}'), '__proto__'],
    ];
    for (const [input, field] of cases) {
      const e = scenarioError(() => parseScenario(input));
      expect({ input, path: e.data.path }).toEqual({ input, path: field });
    }
    expect(scenarioError(() => parseScenarioText('{"nodes": ')).data.reason).toBe('not JSON');
    expect(scenarioError(() => loadScenario('/nonexistent/chaos.json')).data.reason).toBe(
      'unreadable',
    );
  });

  testProp.prop([validScenario])('valid scenarios parse, and parse again to the same', (input) => {
    const s = parseScenario(input);
    expect(s.nodes).toBe(input.nodes);
    expect(s.faults.schedule).toHaveLength(input.faults.schedule.length);
    expect(parseScenario(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });

  testProp.prop([fc.anything({ withNullPrototype: true, withObjectString: true })])(
    'any value: a scenario or an ErrorChaosScenario, nothing else',
    (input) => {
      try {
        parseScenario(input);
      } catch (e) {
        expect(e).toBeInstanceOf(errors.ErrorChaosScenario);
      }
    },
  );

  testProp.prop([fc.string({ maxLength: 200 }), fc.json()])(
    'any text: a scenario or an ErrorChaosScenario, nothing else',
    (text, json) => {
      for (const t of [text, json]) {
        try {
          parseScenarioText(t);
        } catch (e) {
          expect(e).toBeInstanceOf(errors.ErrorChaosScenario);
        }
      }
    },
  );

  testProp.prop([
    validScenario,
    fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 4 }),
    fc.anything(),
  ])(
    'a valid scenario with one field replaced by anything: parsed or refused by type',
    (input, keys, value) => {
      // Walk a path of keys into the scenario (stopping where it ends) and replace what is there.
      const copy = JSON.parse(JSON.stringify(input));
      let at: any = copy;
      for (const k of keys.slice(0, -1)) {
        const next = Array.isArray(at) ? at[Number(k) % Math.max(1, at.length)] : at?.[k];
        if (next == null || typeof next !== 'object') break;
        at = next;
      }
      if (at != null && typeof at === 'object') at[keys[keys.length - 1]] = value;
      try {
        parseScenario(copy);
      } catch (e) {
        expect(e).toBeInstanceOf(errors.ErrorChaosScenario);
      }
    },
  );
});
