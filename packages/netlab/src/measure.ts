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
  const observer = lab.spawn(lab.observerNs, [
    process.execPath,
    path.join(tools, 'udp-observer.mjs'),
    '3478',
    '3479',
    ...lab.observerIps,
  ]);
  await new Promise<void>((resolve, reject) => {
    observer.stdout!.once('data', () => resolve());
    observer.once('exit', (code) => reject(new Error(`observer exited with ${code}`)));
  });
  try {
    const out = await lab.exec(site.hostNs, [
      process.execPath,
      path.join(tools, 'udp-probe.mjs'),
      '40000',
      `${lab.observerIps[0]}:3478`,
      `${lab.observerIps[1]}:3478`,
      lab.observerIps[2],
    ]);
    return JSON.parse(out.trim());
  } finally {
    observer.kill('SIGKILL');
  }
}

export { measureNat };
export type { MeasuredNat };
