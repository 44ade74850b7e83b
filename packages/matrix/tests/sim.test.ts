import { describe, test, expect } from '@jest/globals';
import { runSimMatrix, kinds } from '../src/index.js';
import { expectedNat, natFinding, expectedPath } from './expected.js';

describe('connectivity matrix on netsim', () => {
  test('every pair is reported, truthfully, and the run repeats exactly from its seed', async () => {
    const r1 = await runSimMatrix({ seed: 3 });
    expect(r1.lab).toBe('sim');
    expect(r1.pairs).toHaveLength((kinds.length * (kinds.length + 1)) / 2);
    for (const p of r1.pairs) {
      // Direct where a dial works, punched where signalling and punching can open a path.
      expect({ pair: `${p.a}/${p.b}`, path: p.path }).toEqual({
        pair: `${p.a}/${p.b}`,
        path: expectedPath(p.a, p.b),
      });
      // The lab's relay is public: every relayed pair runs on a datagram circuit, none fell back.
      if (p.path === 'relayed')
        expect({ pair: `${p.a}/${p.b}`, circuit: p.circuit }).toEqual({
          pair: `${p.a}/${p.b}`,
          circuit: 'datagram',
        });
      if (p.connected) {
        expect(p.connectMs).toBeGreaterThan(0);
        expect(p.error).toBeNull();
      } else {
        expect(p.path).toBeNull();
        expect(p.error).toMatch(/^Error\w+: /);
      }
    }
    expect(r1.summary.connected).toBe(r1.pairs.filter((p) => p.connected).length);
    for (const n of r1.nat) {
      expect(natFinding(n)).toEqual(expectedNat(n.kind));
    }
    const r2 = await runSimMatrix({ seed: 3 });
    expect(r2.pairs).toEqual(r1.pairs);
    expect(r2.nat).toEqual(r1.nat);
  }, 180_000);
});
