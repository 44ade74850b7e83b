/**
 * PortMapper against a real miniupnpd 2.3.1 (UPnP IGD, NAT-PMP and PCP) in
 * network namespaces: the mapper runs in a child process inside the lab
 * host's namespace (tools/agent.mjs, on the built package), the "internet"
 * is the lab's observer namespace, and the router's own iptables and
 * `upnpc -l` are the witnesses. Needs root (skips and says why otherwise;
 * fails in CI) and a build (`npx tsc -b packages/upnp`).
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, ControlledProcess, canRunNetlab } from '@node-network/netlab';
import type { LabSite } from '@node-network/netlab';

const here = path.dirname(fileURLToPath(import.meta.url));
const agentScript = path.join(here, '..', 'tools', 'agent.mjs');
const built = path.join(here, '..', 'dist', 'index.js');

const can = await canRunNetlab();
if (!can.ok) {
  if (process.env.CI === 'true') throw new Error(`netlab cannot run in CI: ${can.reason}`);
  console.warn(`Skipping the miniupnpd tests: ${can.reason}`);
}
const maybe = can.ok ? describe : describe.skip;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mapping = {
  method: string;
  externalAddress: string;
  externalPort: number;
  internalPort: number;
  protocol: string;
  lifetimeSeconds: number;
  expiresAt: number;
  at: number;
};

maybe('PortMapper against a real miniupnpd in network namespaces', () => {
  let lab: Lab;
  let site: LabSite;
  const agents: Array<ControlledProcess> = [];

  beforeAll(async () => {
    if (!fs.existsSync(built))
      throw new Error(`${built} is missing: build first (npx tsc -b packages/upnp)`);
    lab = await Lab.create({ sites: [{ name: 'home', kind: 'upnp' }] });
    site = lab.sites.get('home')!;
  }, 30_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => {})));
    const prefix = lab?.prefix;
    await lab?.destroy();
    if (prefix != null)
      expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(prefix);
  }, 20_000);

  /** A PortMapper process in the host's namespace (behind the miniupnpd router). */
  function agent(): ControlledProcess {
    const a = new ControlledProcess(lab.spawn(site.hostNs, [process.execPath, agentScript]));
    agents.push(a);
    return a;
  }

  /** The UDP ports miniupnpd has forwarded, read from the router's own iptables. */
  async function forwardedPorts(): Promise<Array<number>> {
    const out = await lab.exec(site.routerNs!, ['iptables-legacy', '-t', 'nat', '-S', 'MINIUPNPD']);
    return [...out.matchAll(/-p udp .*--dport (\d+) -j DNAT/g)].map((m) => Number(m[1]));
  }

  /** `upnpc -l` from the host: the gateway's own list of mappings, "UDP 40001->198.18.1.2:40001". */
  async function upnpcList(): Promise<Array<string>> {
    const out = await lab.exec(
      site.hostNs,
      ['upnpc', '-u', `http://${site.gateway}:5000/rootDesc.xml`, '-l'],
      { timeoutMs: 10_000 },
    );
    return [...out.matchAll(/^\s*\d+ (UDP|TCP)\s+(\d+->[\d.]+:\d+)/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
  }

  /** Sends one datagram from the internet (the observer namespace), from a fresh port. */
  async function sendFromInternet(host: string, port: number, text: string): Promise<void> {
    const script = `const s=require('dgram').createSocket('udp4');s.bind(0,()=>s.send(${JSON.stringify(text)},${port},${JSON.stringify(host)},()=>s.close()))`;
    await lab.exec(lab.observerNs, [process.execPath, '-e', script]);
  }

  function arrived(a: ControlledProcess, port: number, text: string, timeoutMs = 3000) {
    return a.waitForEvent(
      (e) => e.event === 'datagram' && e.port === port && e.data === text,
      timeoutMs,
    );
  }

  async function notArrived(a: ControlledProcess, port: number, text: string): Promise<boolean> {
    return arrived(a, port, text, 700).then(
      () => false,
      () => true,
    );
  }

  for (const [method, port] of [
    ['upnp', 41001],
    ['natpmp', 41002],
  ] as const) {
    test(`${method}: maps, learns the router's WAN address, lets the internet in, renews at half-life (an unrenewed control lapses), and stop() removes it`, async () => {
      const a = agent();
      const started = (await a.request('start', { config: { methods: [method] } })) as {
        gateways: Array<{ method: string; available: boolean }>;
        externalAddress: string;
      };
      expect(started.gateways).toMatchObject([{ method, available: true }]);
      expect(started.externalAddress).toBe(site.publicIp);
      await a.request('bind', { port });
      const m = (await a.request('map', {
        internalPort: port,
        protocol: 'udp',
        lifetimeSeconds: 4,
      })) as Mapping;
      expect(m).toMatchObject({
        method,
        externalAddress: site.publicIp,
        externalPort: port,
        internalPort: port,
        protocol: 'udp',
        lifetimeSeconds: 4,
      });
      // A control mapping of the same lifetime that nobody renews (natpmpc, 3 s): it lapses below.
      await lab.exec(site.hostNs, [
        'natpmpc',
        '-g',
        site.gateway!,
        '-a',
        `${port + 100}`,
        `${port + 100}`,
        'udp',
        '3',
      ]);
      // (c) The router has it: its iptables forward the port, and the IGD lists it for our host.
      expect(await forwardedPorts()).toContain(port);
      expect(await upnpcList()).toContain(`UDP ${port}->${site.hostIp}:${port}`);
      // (b) A datagram from the internet to the external endpoint reaches our socket.
      await sendFromInternet(m.externalAddress, m.externalPort, `hello ${method}`);
      const got = await arrived(a, port, `hello ${method}`);
      expect(String(got.from).startsWith(`${lab.upnpObserverIp}:`)).toBe(true);
      // (d) Renewed at half the 4 s lifetime; past the first lifetime the mapping still works.
      const renewed = await a.waitForEvent((e) => e.event === 'renewed', 5000);
      const renewedAfter = (renewed.at as number) - m.at;
      expect(renewedAfter).toBeGreaterThan(1800);
      expect(renewedAfter).toBeLessThan(3000);
      await sleep(Math.max(0, 4500 - renewedAfter));
      const forwarded = await forwardedPorts();
      expect(forwarded).toContain(port);
      expect(forwarded).not.toContain(port + 100); // the unrenewed control has lapsed
      await sendFromInternet(m.externalAddress, m.externalPort, `still there ${method}`);
      await arrived(a, port, `still there ${method}`);
      // stop() deletes it on the gateway: gone from iptables and from the IGD's list, and closed.
      await a.request('stop');
      expect(await forwardedPorts()).not.toContain(port);
      expect((await upnpcList()).some((l) => l.startsWith(`UDP ${port}->`))).toBe(false);
      await sendFromInternet(m.externalAddress, m.externalPort, `after stop ${method}`);
      expect(await notArrived(a, port, `after stop ${method}`)).toBe(true);
      expect(a.events.filter((e) => e.event === 'renewFailed')).toEqual([]);
    }, 20_000);
  }

  test('pcp, and the default order: all three found, PCP first; the gateway grants its own minimum lease', async () => {
    const port = 41004;
    const a = agent();
    const started = (await a.request('start', {})) as {
      gateways: Array<{ method: string; available: boolean }>;
    };
    expect(started.gateways.map((g) => [g.method, g.available])).toEqual([
      ['pcp', true],
      ['natpmp', true],
      ['upnp', true],
    ]);
    await a.request('bind', { port });
    // Two calls for one port at once: one mapping, made once.
    const req = { internalPort: port, protocol: 'udp', lifetimeSeconds: 30 };
    const [m, again] = (await Promise.all([a.request('map', req), a.request('map', req)])) as [
      Mapping,
      Mapping,
    ];
    expect(again.externalPort).toBe(m.externalPort);
    // miniupnpd grants PCP leases of at least 120 s whatever is asked.
    expect(m).toMatchObject({
      method: 'pcp',
      externalAddress: site.publicIp,
      externalPort: port,
      lifetimeSeconds: 120,
    });
    expect(await forwardedPorts()).toContain(port);
    await sendFromInternet(m.externalAddress, m.externalPort, 'hello pcp');
    await arrived(a, port, 'hello pcp');
    await a.request('stop');
    expect(await forwardedPorts()).not.toContain(port);
    const attempts = a.events
      .filter((e) => e.event === 'attempt')
      .map((e) => `${e.method} ${e.action} ${e.outcome}`);
    expect(attempts).toEqual(
      expect.arrayContaining([
        'pcp discover ok',
        'natpmp discover ok',
        'upnp discover ok',
        'pcp map ok',
        'pcp unmap ok',
      ]),
    );
    expect(attempts.filter((x) => x === 'pcp map ok')).toHaveLength(1);
  }, 15_000);

  test('the gateway stops answering, then its WAN address changes: renewal fails, then succeeds and reports the new address', async () => {
    const port = 41005;
    const a = agent();
    await a.request('start', { config: { methods: ['natpmp'], requestTimeoutMs: 500 } });
    await a.request('bind', { port });
    await a.request('map', { internalPort: port, protocol: 'udp', lifetimeSeconds: 4 });
    // The router drops NAT-PMP from the LAN: the renewal at 2 s gets no answer.
    const block = ['INPUT', '-i', 'lan', '-p', 'udp', '--dport', '5351', '-j', 'DROP'];
    await lab.exec(site.routerNs!, ['iptables-legacy', '-I', ...block]);
    const failed = await a.waitForEvent((e) => e.event === 'renewFailed', 5000);
    expect(String(failed.error)).toMatch(/^ErrorUPnPGatewayTimeout/);
    expect(failed.expired).toBe(false);
    // Answering again, from a new WAN address.
    const newIp = '7.7.7.77';
    await lab.exec(site.routerNs!, ['sysctl', '-qw', 'net.ipv4.conf.wan.promote_secondaries=1']);
    await lab.exec(site.routerNs!, ['ip', 'addr', 'add', `${newIp}/24`, 'dev', 'wan']);
    await lab.exec(site.routerNs!, ['ip', 'addr', 'del', `${site.publicIp}/24`, 'dev', 'wan']);
    await lab.exec(site.routerNs!, ['iptables-legacy', '-D', ...block]);
    const changed = await a.waitForEvent(
      (e) => e.event === 'externalAddressChanged' && e.current === newIp,
      5000,
    );
    expect(changed).toMatchObject({ previous: site.publicIp, method: 'natpmp' });
    const renewed = await a.waitForEvent((e) => e.event === 'renewed', 1000);
    expect((renewed.mapping as Mapping).externalAddress).toBe(newIp);
    await sendFromInternet(newIp, port, 'hello new address');
    await arrived(a, port, 'hello new address');
    await a.request('stop');
  }, 20_000);
});
