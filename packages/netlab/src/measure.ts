import type Lab from './Lab.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type MeasuredNat = {
  /** The external endpoint each of two observer IPs saw (null: nothing arrived). */
  seenBy: [string | null, string | null];
  /** Whether an unsolicited packet from the contacted IP's other port got through. */
  otherPort: boolean;
  /** Whether an unsolicited packet from an uncontacted IP got through. */
  otherIp: boolean;
};

const tools = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'tools');

/**
 * Measures the NAT in front of site `siteName` with plain UDP, the way the
 * lab notes do: the site's host sends from port 40000 to two observer IPs,
 * then asks for unsolicited packets from another port and from a third IP.
 */
async function measureNat(lab: Lab, siteName: string): Promise<MeasuredNat> {
  const site = lab.sites.get(siteName)!;
  const ips = site.kind === 'ipv6-only' ? lab.observerIpv6s : lab.observerIps;
  return withObserver(lab, async () => {
    const out = await lab.exec(site.hostNs, [
      process.execPath,
      path.join(tools, 'udp-probe.mjs'),
      '40000',
      '3478',
      ips[0],
      ips[1],
      ips[2],
    ]);
    return JSON.parse(out.trim());
  });
}

/** Runs `f` while the observer (UDP and TCP on port 3478 of every observer address) is up. */
async function withObserver<T>(lab: Lab, f: () => Promise<T>): Promise<T> {
  const observer = lab.spawn(lab.observerNs, [
    process.execPath,
    path.join(tools, 'udp-observer.mjs'),
    '3478',
    '3479',
    ...lab.observerIps,
    ...lab.observerIpv6s,
  ]);
  await new Promise<void>((resolve, reject) => {
    observer.stdout!.once('data', () => resolve());
    observer.once('exit', (code) => reject(new Error(`observer exited with ${code}`)));
  });
  try {
    return await f();
  } finally {
    observer.kill('SIGKILL');
  }
}

/**
 * Opens TCP from site `siteName`'s host to the first observer, directly or
 * through the site's HTTP CONNECT proxy; the observer answers with the
 * address it saw.
 */
async function tcpProbe(
  lab: Lab,
  siteName: string,
  { viaProxy = false }: { viaProxy?: boolean } = {},
): Promise<{ ok: boolean; answer?: string; error?: string }> {
  const site = lab.sites.get(siteName)!;
  const args = [process.execPath, path.join(tools, 'tcp-probe.mjs'), lab.observerIps[0], '3478'];
  if (viaProxy && site.proxy != null) args.push(site.proxy.host, String(site.proxy.port));
  return withObserver(lab, async () => JSON.parse((await lab.exec(site.hostNs, args)).trim()));
}

export { measureNat, tcpProbe };
export type { MeasuredNat };
