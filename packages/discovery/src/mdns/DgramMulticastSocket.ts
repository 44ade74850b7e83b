import type { MulticastSocket, MulticastSocketFactory } from './types.js';
import dgram from 'node:dgram';

const mdnsPort = 5353;
const groups = { ipv4: '224.0.0.251', ipv6: 'ff02::fb' } as const;

/**
 * The real mDNS socket (node:dgram), one per interface and family. It binds
 * the group address itself (224.0.0.251:5353, ff02::fb%if:5353) with
 * SO_REUSEADDR, not the wildcard: Linux then delivers it only datagrams
 * sent to the group, so unicast to port 5353 keeps going to the OS
 * responder (avahi binds the wildcard), and we never steal avahi's unicast
 * answers or direct queries. It joins the group on its interface, sends
 * with TTL 255 (RFC 6762 11) and loops multicast back so the local avahi
 * hears us too.
 */
const openDgramMulticastSocket: MulticastSocketFactory = async ({
  family,
  interfaceName,
  interfaceAddress,
}) => {
  const v6 = family === 'ipv6';
  const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true, ipv6Only: v6 });
  const group = v6 ? `${groups.ipv6}%${interfaceName}` : groups.ipv4;
  const iface = v6 ? `::%${interfaceName}` : interfaceAddress;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: mdnsPort, address: group, exclusive: false }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    socket.addMembership(v6 ? groups.ipv6 : groups.ipv4, iface);
    socket.setMulticastInterface(iface);
    socket.setMulticastTTL(255);
    socket.setTTL(255);
    socket.setMulticastLoopback(true);
  } catch (e) {
    socket.close();
    throw e;
  }
  let closed = false;
  const handlers = new Set<(data: Uint8Array, from: { host: string; port: number }) => void>();
  socket.on('message', (msg, rinfo) => {
    const host = rinfo.address.split('%')[0];
    for (const h of handlers) h(new Uint8Array(msg), { host, port: rinfo.port });
  });
  // Errors after bind (a send to a vanished interface) are reported by send's promise.
  socket.on('error', () => {});
  const s: MulticastSocket = {
    family,
    interfaceName,
    send: (data, to) =>
      new Promise<void>((resolve, reject) => {
        if (closed) return resolve();
        const host =
          to == null
            ? group
            : v6 && /^fe80:/i.test(to.host)
              ? `${to.host}%${interfaceName}`
              : to.host;
        socket.send(data, to?.port ?? mdnsPort, host, (e) => (e != null ? reject(e) : resolve()));
      }),
    onMessage: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
  return s;
};

export default openDgramMulticastSocket;
export { mdnsPort, groups };
