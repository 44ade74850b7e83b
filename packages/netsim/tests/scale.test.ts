import type { ScaleScenarioResult } from '../src/scale.js';
import { describe, test, expect } from '@jest/globals';
import { runScaleScenario, scaleKindsDefault } from '../src/scale.js';

/** Everything the seed decides (wall time and memory left out). */
function counters(r: ScaleScenarioResult) {
  return {
    nodes: r.nodes,
    observers: r.observers,
    virtualMs: r.virtualMs,
    timersRun: r.timersRun,
    datagramsSent: r.datagramsSent,
    datagramsDelivered: r.datagramsDelivered,
    datagramsDropped: r.datagramsDropped,
    pingsSent: r.pingsSent,
    pingsReceived: r.pingsReceived,
    answersReceived: r.answersReceived,
    nodesFullyAnswered: r.nodesFullyAnswered,
    byKind: r.byKind,
    digest: r.digest,
  };
}

describe('scale scenario', () => {
  const nodes = 1_000;
  const observers = 3;
  const durationMs = 20_000;
  const pingIntervalMs = 5_000;
  const rounds = durationMs / pingIntervalMs;
  const expectedAnswers = nodes * observers * rounds;

  /** Without loss every ping round of every node is answered by every observer. */
  function expectAllAnswered(r: ScaleScenarioResult): void {
    expect(r.pingsSent).toBe(expectedAnswers);
    expect(r.pingsReceived).toBe(expectedAnswers);
    expect(r.answersReceived).toBe(expectedAnswers);
    expect(r.nodesFullyAnswered).toBe(nodes);
    expect(r.datagramsSent).toBe(2 * expectedAnswers);
    expect(r.datagramsDelivered).toBe(2 * expectedAnswers);
    expect(r.datagramsDropped).toBe(0);
    // One timer per ping round and one per delivery.
    expect(r.timersRun).toBe(nodes * rounds + 2 * expectedAnswers);
    expect(Object.keys(r.byKind).sort()).toEqual([...scaleKindsDefault].sort());
    for (const { nodes: n, answers } of Object.values(r.byKind)) {
      expect(answers).toBe(n * observers * rounds);
    }
  }

  test('1,000 nodes behind the IPv4 NAT kinds all get every answer', () => {
    const r = runScaleScenario({ nodes, observers, seed: 1, durationMs, pingIntervalMs });
    expectAllAnswered(r);
    expect(r.virtualMs).toBeGreaterThanOrEqual(durationMs);
  });

  test('the same seed gives the same counters; another seed gives other runs, same totals', () => {
    const options = { nodes, observers, durationMs, pingIntervalMs, jitter: 5 };
    const a = runScaleScenario({ ...options, seed: 7 });
    const b = runScaleScenario({ ...options, seed: 7 });
    const c = runScaleScenario({ ...options, seed: 8 });
    expect(counters(b)).toEqual(counters(a));
    expectAllAnswered(a);
    expectAllAnswered(c);
    // Phases, jitter and symmetric NATs' ports come from the seed.
    expect(c.digest).not.toBe(a.digest);
  });

  test('with loss, runs still repeat by seed and the counters add up', () => {
    const options = { nodes, observers, durationMs, pingIntervalMs, loss: 0.05 };
    const a = runScaleScenario({ ...options, seed: 3 });
    const b = runScaleScenario({ ...options, seed: 3 });
    expect(counters(b)).toEqual(counters(a));
    expect(a.pingsSent).toBe(expectedAnswers);
    expect(a.datagramsDropped).toBeGreaterThan(0);
    expect(a.answersReceived).toBeLessThan(expectedAnswers);
    // Every ping that arrived was answered; every datagram was delivered or dropped.
    expect(a.datagramsSent).toBe(a.pingsSent + a.pingsReceived);
    expect(a.datagramsDelivered).toBe(a.pingsReceived + a.answersReceived);
    expect(a.datagramsSent).toBe(a.datagramsDelivered + a.datagramsDropped);
  });

  test('udp-blocked nodes get nothing; ipv6-only nodes reach the IPv6 observers', () => {
    const r = runScaleScenario({
      nodes: 100,
      observers: 2,
      durationMs: 10_000,
      pingIntervalMs,
      kinds: ['udp-blocked', 'ipv6-only'],
    });
    expect(r.byKind['udp-blocked']).toEqual({ nodes: 50, answers: 0 });
    expect(r.byKind['ipv6-only']).toEqual({ nodes: 50, answers: 50 * 2 * 2 });
    expect(r.nodesFullyAnswered).toBe(50);
  });
});
