import type { Socket } from 'node:dgram';
import dgram from 'node:dgram';

/**
 * Every `node:dgram` socket this thread creates, so an engine that is about
 * to die can close them first. Node 20 aborts the whole process when a
 * worker is terminated while its UDP socket delivers a datagram
 * (`UDPWrap::OnRecv` -> `AddressToJS` -> `FromJust` on a terminating
 * isolate), so an engine never lets the thread end with a socket open.
 * Patching `dgram.createSocket` touches this thread's module instance only.
 */
const sockets = new Set<Socket>();
let tracking = false;

function trackSockets(): void {
  if (tracking) return;
  tracking = true;
  const create = dgram.createSocket;
  dgram.createSocket = ((...args: Parameters<typeof create>) => {
    const socket = create(...args);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  }) as typeof create;
}

/** Closes every tracked socket now (reading stops at once). */
function closeSocketsNow(): void {
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      // Already closed.
    }
  }
  sockets.clear();
}

export { trackSockets, closeSocketsNow };
