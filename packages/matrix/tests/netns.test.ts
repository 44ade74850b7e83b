import { describe, test, expect } from '@jest/globals';
import { canRunNetlab } from '@node-network/netlab';
import { runNetnsMatrix, runSimMatrix } from '../src/index.js';
import { expectedNat, natFinding } from './expected.js';

const can = await canRunNetlab();
if (!can.ok) {
  if (process.env.CI === 'true') throw new Error(`netlab cannot run in CI: ${can.reason}`);
  console.warn(`Skipping the netns matrix: ${can.reason}`);
}
const maybe = can.ok ? describe : describe.skip;

maybe('connectivity matrix on real kernel NATs', () => {
  test('netns and netsim agree on every pair, and detection finds each real NAT', async () => {
    const kinds = [
      'open',
      'full-cone',
      'restricted',
      'port-restricted',
      'symmetric',
      'ipv6-only',
      'udp-blocked',
    ] as const;
    const netns = await runNetnsMatrix({
      kinds,
      // 64 MB through the HTTP relay (tinyproxy, WebSocket, relay, end-to-end TLS), and through a QUIC relay.
      transfers: [
        ['full-cone', 'udp-blocked'],
        ['symmetric', 'symmetric'],
      ],
    });
    for (const t of netns.transfers) {
      expect({ pair: `${t.a}/${t.b}`, intact: t.intact, bytes: t.bytes }).toEqual({
        pair: `${t.a}/${t.b}`,
        intact: true,
        bytes: 64e6,
      });
    }
    console.log(
      `netns transfers: ${netns.transfers.map((t) => `${t.a}->${t.b} ${t.bytes / 1e6} MB ${t.mbPerS} MB/s`).join(', ')}`,
    );
    const sim = await runSimMatrix({ kinds });
    expect(netns.pairs.map((p) => `${p.a}/${p.b}: ${p.connected}`)).toEqual(
      sim.pairs.map((p) => `${p.a}/${p.b}: ${p.connected}`),
    );
    for (const p of netns.pairs) {
      if (!p.connected) expect(p.error).toMatch(/^Error\w+: /);
      // The lab's relay is public: relayed pairs run on datagram circuits (the stream circuit is the fallback).
      if (p.path === 'relayed') {
        expect({ pair: `${p.a}/${p.b}`, circuit: p.circuit }).toEqual({
          pair: `${p.a}/${p.b}`,
          circuit: 'datagram',
        });
      }
    }
    for (const n of netns.nat) {
      expect(natFinding(n)).toEqual(expectedNat(n.kind));
    }
  }, 240_000);
});
