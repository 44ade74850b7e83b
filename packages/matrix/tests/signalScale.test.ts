import { describe, test, expect } from '@jest/globals';
import { runSignalScale } from '../src/index.js';

describe('signalling at scale on netsim', () => {
  test('60 mixed-NAT nodes with 3 open: every pair connects, signals take few greedy hops', async () => {
    const r = await runSignalScale({ nodes: 60, open: 3, pairs: 20, seed: 2 });
    expect(r.nodes).toBe(60);
    // Pairs are drawn among NATed nodes, never both symmetric (that needs a relay).
    expect({ connected: r.connected, failures: r.failures }).toEqual({
      connected: r.pairs,
      failures: {},
    });
    // Overlay: every wanted connection but symmetric-symmetric ones opens.
    expect(r.overlay.opened).toBeGreaterThan(r.overlay.wanted * 0.95);
    // Greedy routing over the overlay: within ceil(log2 n) hops.
    expect(r.hops.p50).toBeGreaterThanOrEqual(1);
    expect(r.hops.max).toBeLessThanOrEqual(Math.ceil(r.log2n));
    // Each signal is handled by the nodes on its route only: no flooding.
    expect(r.messagesPerNode.total).toBeLessThanOrEqual(r.pairs * (r.hops.max + 1));
  }, 120_000);
});
