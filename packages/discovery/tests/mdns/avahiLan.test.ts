import type { AvahiLan as AvahiLanType } from '@node-network/netlab';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { AvahiLan, ControlledProcess, canRunAvahiLan } from '@node-network/netlab';

const here = path.dirname(fileURLToPath(import.meta.url));
const agentScript = path.resolve(here, '..', '..', 'tools', 'mdns-agent.mjs');
const built = path.resolve(here, '..', '..', 'dist', 'index.js');

const can = await canRunAvahiLan();
if (!can.ok) {
  if (process.env.CI === 'true') throw new Error(`avahi LANs cannot run in CI: ${can.reason}`);
  console.warn(`Skipping the avahi LAN tests: ${can.reason}`);
}
const maybe = can.ok ? describe : describe.skip;

type Agent = { proc: ControlledProcess; nodeId: string; host: string };

async function startAgents(
  lan: AvahiLanType,
  specs: Array<{
    host: string;
    network: string;
    backend: 'avahi' | 'responder';
    families?: Array<string>;
  }>,
): Promise<Array<Agent & { startedIn: number }>> {
  if (!fs.existsSync(built)) throw new Error(`${built} is missing: build first (pnpm build)`);
  const agents = await Promise.all(
    specs.map(async (s, i) => {
      const proc = new ControlledProcess(
        lan.spawn(s.host, [
          process.execPath,
          agentScript,
          JSON.stringify({
            network: s.network,
            port: 2000 + i,
            backend: s.backend,
            families: s.families,
          }),
        ]),
      );
      const ready = await proc.waitForEvent((e) => e.event === 'ready', 15_000);
      return { proc, nodeId: String(ready.nodeId), host: s.host };
    }),
  );
  // Start all at once: each measures from its own start() to its first report of a peer.
  const started = await Promise.all(
    agents.map(
      (a) => a.proc.request('start', {}, 15_000) as Promise<{ backend: string; startMs: number }>,
    ),
  );
  return agents.map((a, i) => {
    expect(started[i].backend).toBe(specs[i].backend);
    return { ...a, startedIn: started[i].startMs };
  });
}

/** ms from the agent's start() to its first report of `peer`. */
async function found(
  a: Agent,
  peer: Agent,
  timeoutMs = 4000,
): Promise<{ t: number; addresses: Array<any> }> {
  const e = await a.proc.waitForEvent(
    (x) => x.event === 'peer' && x.nodeId === peer.nodeId,
    timeoutMs,
  );
  return { t: Number(e.t), addresses: e.addresses as Array<any> };
}

/** A direct unicast query (RFC 6762 5.5, from an ephemeral port) for `name` A to `ip`:5353; the answer's address. */
async function unicastQuery(
  lan: AvahiLanType,
  from: string,
  ip: string,
  name: string,
): Promise<string> {
  const labels = name
    .split('.')
    .map((l) => `${l.length},${[...Buffer.from(l)].join(',')}`)
    .join(',');
  const script = `
const s = require('dgram').createSocket('udp4');
const q = Buffer.from([0x12,0x34,0,0,0,1,0,0,0,0,0,0,${labels},0,0,1,0,1]);
s.on('message', (m) => { console.log([...m.subarray(m.length - 4)].join('.')); process.exit(0); });
s.send(q, 5353, '${ip}');
setTimeout(() => { console.log('none'); process.exit(0); }, 1500);`;
  return (await lan.exec(from, [process.execPath, '-e', script])).trim();
}

maybe('mDNS discovery with real avahi-daemons (netlab avahi LAN)', () => {
  let lan: AvahiLanType;
  const agents: Array<Agent> = [];
  beforeAll(async () => {
    lan = await AvahiLan.create({ hosts: 3 });
  }, 30_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.proc.stop()));
    await lan?.destroy();
  });

  for (const backend of ['avahi', 'responder'] as const) {
    test(`${backend} backend: found within 2 s with no seed, other network never reported, avahi unharmed, goodbyes`, async () => {
      const [a, b, c] = await startAgents(lan, [
        { host: 'h1', network: 'testnet', backend },
        { host: 'h2', network: 'testnet', backend },
        { host: 'h3', network: 'mainnet', backend },
      ]);
      agents.push(a, b, c);
      const [ab, ba] = await Promise.all([found(a, b), found(b, a)]);
      console.log(
        `mdns ${backend} on avahi hosts: a found b ${ab.t} ms, b found a ${ba.t} ms after start() (start took ${a.startedIn} / ${b.startedIn} ms)`,
      );
      expect(ab.t).toBeLessThan(2000);
      expect(ba.t).toBeLessThan(2000);
      // avahi resolves per interface and family: the other family's address follows in an update.
      await new Promise((r) => setTimeout(r, 300));
      const peersOfA = (await a.proc.request('peers')) as Array<{
        nodeId: string;
        addresses: Array<unknown>;
      }>;
      expect(peersOfA.map((p) => p.nodeId)).toEqual([b.nodeId]);
      expect(peersOfA[0].addresses).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ host: '198.18.100.2', port: 2001, family: 'ipv4' }),
          expect.objectContaining({ host: '2001:db8:100::2', port: 2001, family: 'ipv6' }),
        ]),
      );
      // c (mainnet) is seen and refused, and refuses them; never reported as a peer.
      await a.proc.waitForEvent((e) => e.event === 'ignored' && e.nodeIdEncoded === c.nodeId, 3000);
      await c.proc.waitForEvent((e) => e.event === 'ignored' && e.nodeIdEncoded === a.nodeId, 3000);
      await new Promise((r) => setTimeout(r, 300));
      expect(a.proc.events.filter((e) => e.event === 'peer' && e.nodeId === c.nodeId)).toEqual([]);
      expect(b.proc.events.filter((e) => e.event === 'peer' && e.nodeId === c.nodeId)).toEqual([]);
      expect(
        c.proc.events.filter(
          (e) => e.event === 'peer' && (e.nodeId === a.nodeId || e.nodeId === b.nodeId),
        ),
      ).toEqual([]);
      // The OS's tools see our services; avahi still answers for its own hosts.
      const listed = await lan.exec('h3', [
        'avahi-browse',
        '--parsable',
        '--resolve',
        '--terminate',
        '_node-network._udp',
      ]);
      for (const x of [a, b, c])
        expect(listed).toMatch(
          new RegExp(`^=;eth0;IPv4;${x.nodeId};_node-network\\._udp;local;`, 'm'),
        );
      expect((await lan.exec('h1', ['avahi-resolve', '-4', '-n', 'h2.local'])).trim()).toBe(
        'h2.local\t198.18.100.2',
      );
      const ws = await lan.exec('h2', [
        'avahi-browse',
        '--parsable',
        '--terminate',
        '_workstation._tcp',
      ]);
      expect(ws.split('\n').filter((l) => l.startsWith('+;eth0;IPv4;')).length).toBe(3);
      // Direct unicast queries to a host running our node still reach its avahi.
      expect(await unicastQuery(lan, 'h1', '198.18.100.2', 'h2.local')).toBe('198.18.100.2');
      // Stopping b: its goodbyes make a drop it within about a second.
      const t0 = performance.now();
      await b.proc.request('stop');
      const gone = await a.proc.waitForEvent(
        (e) => e.event === 'gone' && e.nodeId === b.nodeId,
        3000,
      );
      const goneMs = performance.now() - t0;
      console.log(
        `mdns ${backend}: a dropped b ${goneMs.toFixed(0)} ms after b stopped (${String(gone.reason)})`,
      );
      expect(goneMs).toBeLessThan(2000);
      for (const x of [a, b, c]) await x.proc.stop();
    }, 30_000);
  }
});

maybe('mDNS discovery on an IPv6-only avahi LAN', () => {
  test('own responder and avahi find each other over ff02::fb only', async () => {
    const lan6 = await AvahiLan.create({ hosts: 2, families: ['ipv6'] });
    const agents: Array<Agent> = [];
    try {
      const [a, b] = await startAgents(lan6, [
        { host: 'h1', network: 'testnet', backend: 'responder', families: ['ipv6'] },
        { host: 'h2', network: 'testnet', backend: 'avahi' },
      ]);
      agents.push(a, b);
      const [ab, ba] = await Promise.all([found(a, b), found(b, a)]);
      console.log(
        `mdns IPv6-only: responder found avahi ${ab.t} ms, avahi found responder ${ba.t} ms`,
      );
      expect(ab.t).toBeLessThan(2000);
      expect(ba.t).toBeLessThan(2000);
      for (const f of [ab, ba]) {
        expect(f.addresses.length).toBeGreaterThan(0);
        expect(f.addresses.every((x) => x.family === 'ipv6')).toBe(true);
      }
      expect(ab.addresses).toEqual(
        expect.arrayContaining([expect.objectContaining({ host: '2001:db8:100::2' })]),
      );
      expect(ba.addresses).toEqual(
        expect.arrayContaining([expect.objectContaining({ host: '2001:db8:100::1' })]),
      );
      const listed = await lan6.exec('h2', [
        'avahi-browse',
        '--parsable',
        '--resolve',
        '--terminate',
        '_node-network._udp',
      ]);
      expect(listed).toMatch(new RegExp(`^=;eth0;IPv6;${a.nodeId};`, 'm'));
    } finally {
      await Promise.all(agents.map((x) => x.proc.stop()));
      await lan6.destroy();
    }
    // destroy() leaves no namespace and no process of the LAN behind.
    const left = execFileSync('ip', ['netns', 'list']).toString();
    expect(left).not.toContain(lan6.prefix);
    expect(fs.existsSync(`/proc/${lan6.host('h1').holderPid}`)).toBe(false);
  }, 30_000);
});
