import type { InterfaceLister } from './types.js';
import os from 'node:os';

/** The host's interfaces from os.networkInterfaces(). */
const osInterfaces: InterfaceLister = () => {
  const out: ReturnType<InterfaceLister> = {};
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    out[name] = (addrs ?? []).map((a) => ({
      address: a.address,
      family: a.family === 'IPv6' ? 'ipv6' : 'ipv4',
      prefixLength: Number(a.cidr?.split('/')[1] ?? (a.family === 'IPv6' ? 128 : 32)),
      internal: a.internal,
    }));
  }
  return out;
};

export default osInterfaces;
