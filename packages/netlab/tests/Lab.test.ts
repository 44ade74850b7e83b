import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import Lab, { canRunNetlab } from '../src/Lab.js';
import { measureNat, tcpProbe } from '../src/measure.js';

const can = await canRunNetlab();
if (!can.ok) {
  // Say why, loudly; in CI (root) the lab must run, so there this is a failure.
  process.stderr.write(`netlab tests skipped: ${can.reason}\n`);
}
const maybe = can.ok ? describe : describe.skip;

test('netlab runs wherever CI runs', () => {
  if (process.env.CI === 'true') expect(can).toEqual({ ok: true });
});

maybe('Lab: real kernel NATs measured with plain UDP probes', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({
      sites: [
        { name: 'open', kind: 'open' },
        { name: 'full-cone', kind: 'full-cone' },
        { name: 'restricted', kind: 'restricted' },
        { name: 'port-restricted', kind: 'port-restricted' },
        { name: 'symmetric', kind: 'symmetric' },
        { name: 'double-nat', kind: 'double-nat' },
        { name: 'udp-blocked', kind: 'udp-blocked' },
        { name: 'ipv6-only', kind: 'ipv6-only' },
        { name: 'upnp', kind: 'upnp' },
      ],
    });
  }, 60_000);
  afterAll(async () => {
    const prefix = lab?.prefix;
    await lab?.destroy();
    const left = execFileSync('ip', ['netns', 'list']).toString();
    expect(left.includes(prefix)).toBe(false);
  });

  test('open: the host is its own public address; nothing is filtered', async () => {
    const m = await measureNat(lab, 'open');
    expect(m.seenBy).toEqual(['203.0.113.101:40000', '203.0.113.101:40000']);
    expect([m.otherPort, m.otherIp]).toEqual([true, true]);
  });

  test('full-cone: same mapping for both observers, port kept, nothing filtered', async () => {
    const m = await measureNat(lab, 'full-cone');
    expect(m.seenBy).toEqual(['203.0.113.102:40000', '203.0.113.102:40000']);
    expect([m.otherPort, m.otherIp]).toEqual([true, true]);
  });

  test('restricted: same mapping; the contacted IP gets through from any port, others do not', async () => {
    const m = await measureNat(lab, 'restricted');
    expect(m.seenBy[0]).toBe(m.seenBy[1]);
    expect([m.otherPort, m.otherIp]).toEqual([true, false]);
  });

  test('port-restricted: same mapping, port kept, only the contacted endpoint gets through', async () => {
    const m = await measureNat(lab, 'port-restricted');
    expect(m.seenBy).toEqual(['203.0.113.104:40000', '203.0.113.104:40000']);
    expect([m.otherPort, m.otherIp]).toEqual([false, false]);
  });

  test('symmetric: a different external port per observer', async () => {
    const m = await measureNat(lab, 'symmetric');
    expect(m.seenBy[0]).not.toBeNull();
    expect(m.seenBy[0]).not.toBe(m.seenBy[1]);
    expect(m.seenBy[0]!.startsWith('203.0.113.105:')).toBe(true);
    expect([m.otherPort, m.otherIp]).toEqual([false, false]);
  });

  test('double-nat: the CGNAT address, one mapping for both observers, filtered', async () => {
    const m = await measureNat(lab, 'double-nat');
    expect(m.seenBy[0]).toBe(m.seenBy[1]);
    expect(m.seenBy[0]!.startsWith('203.0.113.106:')).toBe(true);
    expect([m.otherPort, m.otherIp]).toEqual([false, false]);
  });

  test('udp-blocked: no UDP and no direct TCP get out; HTTP CONNECT through tinyproxy does', async () => {
    const m = await measureNat(lab, 'udp-blocked');
    expect(m.seenBy).toEqual([null, null]);
    const direct = await tcpProbe(lab, 'udp-blocked');
    expect(direct.ok).toBe(false);
    const proxied = await tcpProbe(lab, 'udp-blocked', { viaProxy: true });
    expect(proxied.ok).toBe(true);
    // The observer sees the firewall's public address: the proxy made the connection.
    expect(proxied.answer!.startsWith('203.0.113.107 ')).toBe(true);
  });

  test('loss: a router dropping 100% forwards nothing; removing it restores the path', async () => {
    await lab.setLoss('port-restricted', 100);
    await lab.setLoss('port-restricted', 100); // idempotent
    expect((await measureNat(lab, 'port-restricted')).seenBy).toEqual([null, null]);
    await lab.setLoss('port-restricted', 0);
    expect((await measureNat(lab, 'port-restricted')).seenBy[0]).toBe('203.0.113.104:40000');
  });

  test('upnp: port-restricted until the host asks the real miniupnpd for a mapping (NAT-PMP)', async () => {
    const before = await measureNat(lab, 'upnp');
    expect(before.seenBy[0]!.startsWith('7.7.7.9:')).toBe(true);
    expect([before.otherPort, before.otherIp]).toEqual([false, false]);
    const site = lab.sites.get('upnp')!;
    const out = await lab.exec(site.hostNs, [
      'natpmpc',
      '-g',
      site.gateway!,
      '-a',
      '40000',
      '40000',
      'udp',
      '600',
    ]);
    expect(out).toMatch(/Mapped public port 40000 protocol UDP to local port 40000/);
    // The refused probes above left conntrack entries that would shadow the new port forward.
    await lab.flushConntrack('upnp');
    const after = await measureNat(lab, 'upnp');
    // Now anyone reaches the mapped port, including an address never contacted.
    expect([after.otherPort, after.otherIp]).toEqual([true, true]);
  });

  test('ipv6-only: no IPv4 at all; IPv6 reaches the observers end to end', async () => {
    const site = lab.sites.get('ipv6-only')!;
    const v4 = await lab.exec(site.hostNs, ['ip', '-4', 'addr', 'show', 'scope', 'global']);
    expect(v4.trim()).toBe('');
    const m = await measureNat(lab, 'ipv6-only');
    expect(m.seenBy).toEqual([`[${site.hostIpv6}]:40000`, `[${site.hostIpv6}]:40000`]);
  });
});

maybe('Lab cleanup', () => {
  test('namespaces left by a dead lab process are swept', async () => {
    const stale = 'nnlab4194300x1-inet'; // pid above pid_max: never alive
    execFileSync('ip', ['netns', 'add', stale]);
    const removed = await Lab.sweep();
    expect(removed).toContain(stale);
    expect(execFileSync('ip', ['netns', 'list']).toString().includes(stale)).toBe(false);
  });
});

maybe('ControlledProcess inside a lab host', () => {
  test('requests, replies, errors, timeouts and events over JSON lines', async () => {
    const { default: ControlledProcess } = await import('../src/ControlledProcess.js');
    const path = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const tool = path.join(
      path.dirname(fileURLToPath(import.meta.url)),
      '..',
      'tools',
      'echo-agent.mjs',
    );
    const lab = await Lab.create({ sites: [{ name: 'home', kind: 'port-restricted' }] });
    try {
      const site = lab.sites.get('home')!;
      const p = new ControlledProcess(lab.spawn(site.hostNs, [process.execPath, tool]));
      await p.waitForEvent((e) => e.event === 'started');
      expect(await p.request('ping')).toBe('pong');
      expect(await p.request('addresses')).toContain(site.hostIp);
      await expect(p.request('fail', { why: 'test' })).rejects.toThrow(/asked to fail: test/);
      await expect(p.request('ignore', {}, 300)).rejects.toThrow(/No answer to ignore/);
      await p.request('emit', { value: 7 });
      expect((await p.waitForEvent((e) => e.event === 'custom')).value).toBe(7);
      await p.stop();
      await expect(p.request('ping')).rejects.toThrow(/exited/);
    } finally {
      await lab.destroy();
    }
  });
});
