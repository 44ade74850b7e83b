import { describe, test, expect } from '@jest/globals';
import Logger, { LogLevel } from '@matrixai/logger';
import { Lab, canRunNetlab } from '@node-network/netlab';
import { SimWorld } from '../src/sim.js';
import { startAgent, helperPort, probePort } from '../src/netns.js';

const can = await canRunNetlab();
if (!can.ok && process.env.CI === 'true') throw new Error(`netlab cannot run in CI: ${can.reason}`);
const maybe = can.ok ? describe : describe.skip;

describe('mapping lifetime through the facade on netsim', () => {
  test('a 30 s NAT mapping is bracketed and published in status', async () => {
    const world = new SimWorld(11, new Logger('t', LogLevel.WARN));
    try {
      await world.start();
      const n = await world.addSiteNode('port-restricted', 1, 'me');
      await world.bootstrap(n);
      const r = await n.nn.measureMappingLifetime(world.helpers[0].nn.nodeId, {
        intervals: [10_000, 20_000, 40_000, 80_000],
      });
      expect(r).toEqual({ aliveAt: 20_000, deadAt: 40_000, recommendedKeepAliveMs: 16_000 });
      expect(n.nn.status().nat.ipv4.mappingLifetime).toMatchObject(r);
    } finally {
      await world.destroy();
    }
  });
});

maybe('mapping lifetime on a real kernel NAT', () => {
  test('conntrack with a 3 s UDP timeout is measured as alive at 2 s, gone at 5 s', async () => {
    const lab = await Lab.create({ sites: [{ name: 'nat', kind: 'port-restricted' }] });
    const agents: Array<Awaited<ReturnType<typeof startAgent>>> = [];
    try {
      const site = lab.sites.get('nat')!;
      // Idle UDP entries (no stream yet) live nf_conntrack_udp_timeout seconds; per namespace.
      await lab.exec(site.routerNs!, ['sysctl', '-qw', 'net.netfilter.nf_conntrack_udp_timeout=3']);
      const [h0, h1] = lab.observerIps;
      const helper = await startAgent(lab, lab.observerNs, {
        listen: [{ host: h0, port: helperPort }],
        natProbeServers: [{ host: h0, port: probePort, otherPort: probePort + 1, otherHost: h1 }],
      });
      agents.push(helper);
      const node = await startAgent(lab, site.hostNs, {
        listen: [{ host: '0.0.0.0' }],
        seedNodes: { [helper.nodeId]: [`${h0}:${helperPort}`] },
      });
      agents.push(node);
      const r = await node.proc.request(
        'lifetime',
        { nodeId: helper.nodeId, family: 'ipv4', intervals: [1_000, 2_000, 5_000, 8_000] },
        30_000,
      );
      expect(r).toEqual({ aliveAt: 2_000, deadAt: 5_000, recommendedKeepAliveMs: 1_600 });
      const status = (await node.proc.request('status')) as any;
      expect(status.nat.ipv4.mappingLifetime).toMatchObject({ aliveAt: 2_000, deadAt: 5_000 });
    } finally {
      await Promise.all(agents.map((a) => a.proc.stop().catch(() => {})));
      await lab.destroy();
    }
  }, 60_000);
});
