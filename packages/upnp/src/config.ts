import type {
  PortMapperConfig,
  PortMappingMethod,
  PortMappingProtocol,
  PortMappingRequest,
} from './types.js';
import { ErrorUPnPConfig } from './errors.js';
import { isIPv4 } from './protocol/ipv4.js';

/**
 * Defaults. The timings follow Tailscale's port mapper and RFC 6886: answers
 * are waited for 250 ms before the first resend (then doubling), a mapping
 * gets at most 5 s over all methods, leases are 2 h renewed at half-life.
 */
const portMapperConfigDefault: PortMapperConfig = {
  methods: ['pcp', 'natpmp', 'upnp'],
  lifetimeSeconds: 7200,
  description: 'node-network',
  discoveryTimeoutMs: 1000,
  answerTimeoutMs: 250,
  mappingTimeoutMs: 5000,
  requestTimeoutMs: 2000,
  maxResponseBytes: 64 * 1024,
  allowNonPublicExternalAddress: false,
  retryAfterExpiryMs: 60_000,
  rediscoverAfterMs: 30_000,
  natPmpPort: 5351,
  pcpPort: 5351,
  ssdp: { host: '239.255.255.250', port: 1900 },
};

/** The methods' names in messages. */
const methodNames: Record<PortMappingMethod, string> = {
  pcp: 'PCP',
  natpmp: 'NAT-PMP',
  upnp: 'UPnP',
};

function isPort(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 0xffff;
}

/** A lease in whole seconds, 2 (so half of it is a whole second) to a week (IGDv2's cap). */
function checkLifetime(s: unknown): number {
  if (!Number.isInteger(s) || (s as number) < 2 || (s as number) > 604800) {
    throw new ErrorUPnPConfig(
      `Lifetime ${String(s)} s: a whole number of seconds from 2 to 604800`,
    );
  }
  return s as number;
}

/** Throws `ErrorUPnPConfig` for a config `PortMapper.start` cannot run with. */
function checkConfig(c: PortMapperConfig): void {
  const bad = (msg: string) => new ErrorUPnPConfig(`PortMapper config: ${msg}`);
  if (!Array.isArray(c.methods) || c.methods.length === 0) throw bad('no methods');
  for (const m of c.methods) if (!(m in methodNames)) throw bad(`unknown method ${String(m)}`);
  if (new Set(c.methods).size !== c.methods.length) throw bad('a method is listed twice');
  if (c.gateway != null && !isIPv4(c.gateway)) throw bad(`gateway ${c.gateway} is not IPv4`);
  if (c.localAddress != null && !isIPv4(c.localAddress)) {
    throw bad(`localAddress ${c.localAddress} is not IPv4`);
  }
  for (const k of [
    'discoveryTimeoutMs',
    'answerTimeoutMs',
    'mappingTimeoutMs',
    'requestTimeoutMs',
    'maxResponseBytes',
    'retryAfterExpiryMs',
    'rediscoverAfterMs',
  ] as const) {
    if (!(Number.isFinite(c[k]) && c[k] > 0)) throw bad(`${k} must be positive`);
  }
  checkLifetime(c.lifetimeSeconds);
  if (!isPort(c.natPmpPort) || !isPort(c.pcpPort) || !isPort(c.ssdp?.port)) throw bad('bad port');
}

/** A `map` request made whole (the lease defaulted), or `ErrorUPnPConfig`. */
function checkRequest(
  r: PortMappingRequest,
  lifetimeDefault: number,
): { internalPort: number; protocol: PortMappingProtocol; lifetimeSeconds: number } {
  if (!isPort(r?.internalPort)) throw new ErrorUPnPConfig(`Internal port ${r?.internalPort}`);
  if (r.protocol !== 'udp' && r.protocol !== 'tcp') {
    throw new ErrorUPnPConfig(`Protocol ${String(r.protocol)}: udp or tcp`);
  }
  if (r.externalPort != null && !isPort(r.externalPort)) {
    throw new ErrorUPnPConfig(`External port ${r.externalPort}`);
  }
  return {
    internalPort: r.internalPort,
    protocol: r.protocol,
    lifetimeSeconds: checkLifetime(r.lifetimeSeconds ?? lifetimeDefault),
  };
}

export { portMapperConfigDefault, methodNames, checkConfig, checkRequest };
