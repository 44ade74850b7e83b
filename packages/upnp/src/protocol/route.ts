/**
 * The IPv4 default gateway from Linux's /proc/net/route: the up, gateway
 * route to 0.0.0.0/0 with the lowest metric. Addresses there are the
 * kernel's u32 in host byte order printed as hex; this reads them as
 * little-endian (x86, arm64: the platforms node-network runs on).
 */

type DefaultRoute = { gateway: string; interface: string; metric: number };

const rtfUp = 0x1;
const rtfGateway = 0x2;

function hexToIPv4LE(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const n = parseInt(hex, 16);
  return `${n & 0xff}.${(n >>> 8) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 24) & 0xff}`;
}

/** The default route in the text of /proc/net/route, or undefined when there is none. */
function parseDefaultRoute(text: string): DefaultRoute | undefined {
  let best: DefaultRoute | undefined;
  const lines = text.slice(0, 1 << 20).split('\n');
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, gw, flagsHex, , , metricText, mask] = f;
    const flags = parseInt(flagsHex, 16);
    if (dest !== '00000000' || mask !== '00000000' || Number.isNaN(flags)) continue;
    if ((flags & rtfUp) === 0 || (flags & rtfGateway) === 0) continue;
    const gateway = hexToIPv4LE(gw);
    const metric = Number(metricText);
    if (gateway == null || gateway === '0.0.0.0' || !Number.isInteger(metric)) continue;
    if (best == null || metric < best.metric) best = { gateway, interface: iface, metric };
  }
  return best;
}

export { parseDefaultRoute };
export type { DefaultRoute };
