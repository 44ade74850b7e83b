/**
 * The facade's local discovery and port mapping on real parts: node-network
 * agents on an avahi LAN (avahi-daemon and its D-Bus in every host) find
 * each other by mDNS with no seed; an agent behind a real miniupnpd maps
 * its port and is dialled directly from the internet with no signalling.
 * Needs root (skips and says why otherwise; fails in CI).
 */
import { describe, test, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AvahiLan,
  ControlledProcess,
  Lab,
  canRunAvahiLan,
  canRunNetlab,
} from '@node-network/netlab';

const here = path.dirname(fileURLToPath(import.meta.url));
const agentScript = path.resolve(here, '..', 'dist', 'bin', 'agent.js');

const can = await canRunNetlab();
const canLan = can.ok ? await canRunAvahiLan() : can;
for (const c of [can, canLan]) {
  if (!c.ok) {
    if (process.env.CI === 'true') throw new Error(`netlab cannot run in CI: ${c.reason}`);
    console.warn(`Skipping the local discovery and port mapping tests: ${c.reason}`);
  }
}
const maybe = can.ok && canLan.ok ? describe : describe.skip;

type Status = {
  addresses: Array<string>;
  connections: Array<{ nodeId: string; path: string }>;
  audit: Array<{
    kind: string;
    time: number;
    outcome?: string;
    nodeId?: string;
    detail?: string;
    durationMs?: number;
  }>;
};

async function agent(
  proc: ControlledProcess,
): Promise<{ proc: ControlledProcess; nodeId: string; readyAt: number }> {
  const ready = await proc
    .waitForEvent((e) => e.event === 'ready', 20_000)
    .catch((e) => {
      throw new Error(`Agent did not start: ${(e as Error).message}\n${proc.stderr}`);
    });
  return { proc, nodeId: String(ready.nodeId), readyAt: Date.now() };
}

const status = (p: ControlledProcess) => p.request('status', {}, 10_000) as Promise<Status>;

async function until<T>(f: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  for (const t0 = Date.now(); Date.now() - t0 < ms;) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  return f();
}

maybe('local discovery and port mapping through the facade', () => {
  test('mDNS on an avahi LAN: two nodes find and connect to each other with no seed, avahi-browse lists them, another network is not admitted', async () => {
    const lan = await AvahiLan.create({ hosts: 3 });
    const procs: Array<ControlledProcess> = [];
    try {
      const start = (host: string, network: string) => {
        const p = new ControlledProcess(
          lan.spawn(host, [
            process.execPath,
            agentScript,
            JSON.stringify({ listen: [{ host: '0.0.0.0' }], network, mdns: true, nodeGraph: true }),
          ]),
        );
        procs.push(p);
        return agent(p);
      };
      const [a, b, m] = await Promise.all([
        start('h1', 'testnet'),
        start('h2', 'testnet'),
        start('h3', 'mainnet'),
      ]);
      const bothReady = Math.max(a.readyAt, b.readyAt);
      const connected = async (x: typeof a, y: typeof a) =>
        (await status(x.proc)).connections.some((c) => c.nodeId === y.nodeId) ? true : undefined;
      expect(await until(() => connected(a, b), 5_000)).toBe(true);
      expect(await until(() => connected(b, a), 5_000)).toBe(true);
      // From the later of the two mDNS starts (audit: when it began) to both sides' connected record.
      // Connected: the first connection to the peer (our dial, or theirs after they found us).
      const times = async (x: typeof a, y: typeof a) => {
        const audit =
          (await until(async () => {
            const au = (await status(x.proc)).audit;
            const ok = au.some(
              (r) => r.kind === 'mdns' && r.outcome === 'ok' && r.nodeId === y.nodeId,
            );
            return ok ? au : undefined;
          }, 5_000)) ??
          ((await status(x.proc)).audit
            .filter((r) => r.kind === 'mdns' || r.nodeId === y.nodeId)
            .forEach((r) => console.log('DBG', JSON.stringify(r))) as never);
        const started = audit.find((r) => r.kind === 'mdns' && /^advertising/.test(r.detail ?? ''));
        const found = audit.find(
          (r) =>
            r.nodeId === y.nodeId &&
            ((r.kind === 'mdns' && r.outcome === 'ok') || r.kind === 'connection-open'),
        );
        return { began: started!.time - started!.durationMs!, found: found!.time };
      };
      const [ta, tb] = [await times(a, b), await times(b, a)];
      const foundMs = Math.round(Math.max(ta.found, tb.found) - Math.max(ta.began, tb.began));
      console.log(
        `mDNS through avahi: both nodes connected ${foundMs} ms after the later mDNS start began (${Date.now() - bothReady} ms after both agents were ready)`,
      );
      expect(foundMs).toBeLessThan(2_000);
      // The peer entered the NodeGraph after the authenticated dial: source mdns, scope local.
      const contact = (await a.proc.request('contact', { nodeId: b.nodeId }, 10_000)) as {
        addresses: Array<{ source: string; scope: string; host: string }>;
      };
      expect(contact.addresses).toContainEqual(
        expect.objectContaining({ source: 'mdns', scope: 'local', host: lan.host('h2').ipv4 }),
      );
      const sa = await status(a.proc);
      expect(
        sa.audit.some((r) => r.kind === 'mdns' && r.outcome === 'ok' && r.nodeId === b.nodeId),
      ).toBe(true);
      // The OS's own tools see all three services.
      const browse = await lan.exec('h1', ['avahi-browse', '-rpt', '_node-network._udp']);
      for (const x of [a, b, m]) expect(browse).toContain(x.nodeId);
      // The mainnet node is never dialled: no connection either way, and the audit says why.
      expect((await status(m.proc)).connections).toEqual([]);
      expect(sa.connections.map((c) => c.nodeId)).not.toContain(m.nodeId);
      expect(
        sa.audit.some(
          (r) =>
            r.kind === 'mdns' && r.outcome === 'failed' && /other-network/.test(r.detail ?? ''),
        ),
      ).toBe(true);
    } finally {
      await Promise.all(procs.map((p) => p.stop().catch(() => {})));
      const prefix = lan.prefix;
      await lan.destroy();
      expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(prefix);
    }
  }, 90_000);

  test('port mapping behind a real miniupnpd: dialled directly from the internet with no signalling; the mapping is gone after stop', async () => {
    const lab = await Lab.create({ sites: [{ name: 'home', kind: 'upnp' }] });
    const procs: Array<ControlledProcess> = [];
    try {
      const site = lab.sites.get('home')!;
      const spawn = (ns: string, config: object) => {
        const p = new ControlledProcess(
          lab.spawn(ns, [process.execPath, agentScript, JSON.stringify(config)]),
        );
        procs.push(p);
        return agent(p);
      };
      const home = await spawn(site.hostNs, {
        listen: [{ host: '0.0.0.0' }],
        portMapping: { lifetimeSeconds: 600 },
      });
      const outside = await spawn(lab.observerNs, {
        listen: [{ host: lab.observerIps[0], port: 0 }],
      });
      const s = await status(home.proc);
      const mapped = s.audit.find((r) => r.kind === 'port-mapping' && r.outcome === 'ok');
      expect(mapped?.detail).toMatch(/mapped UDP \d+ by (pcp|natpmp|upnp)/);
      // The gateway's WAN address (7.7.7.0/24 in the lab) leads our advertised addresses.
      const external = s.addresses[0];
      expect(external).toMatch(/^7\.7\.7\.\d+:\d+$/);
      const r = (await outside.proc.request(
        'connect',
        { nodeId: home.nodeId, addresses: [external], timeoutMs: 8_000 },
        20_000,
      )) as { connected: boolean; path: string; error: string | null };
      expect(r).toMatchObject({ connected: true, path: 'direct' });
      const so = await status(outside.proc);
      expect(so.audit.some((x) => x.kind === 'signal' || x.kind === 'punch')).toBe(false);
      // Stop deletes the mapping on the gateway: miniupnpd's table no longer forwards the port.
      const forwarded = async () =>
        (await lab.exec(site.routerNs!, ['iptables-legacy', '-t', 'nat', '-S', 'MINIUPNPD']))
          .split('\n')
          .filter((l) => /-p udp .*-j DNAT/.test(l));
      expect((await forwarded()).length).toBeGreaterThan(0);
      await home.proc.request('stop', {}, 20_000).catch(() => {});
      expect(await forwarded()).toEqual([]);
    } finally {
      await Promise.all(procs.map((p) => p.stop().catch(() => {})));
      const prefix = lab.prefix;
      await lab.destroy();
      expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(prefix);
    }
  }, 90_000);
});
