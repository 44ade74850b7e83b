import type { UdpSocket, UdpSocketFactory } from './types.js';
import dgram from 'node:dgram';
import { ErrorUPnPGatewayUnreachable } from './errors.js';

/**
 * The real `UdpSocketFactory`: an IPv4 node:dgram socket, bound (and
 * connected, when asked) before it is returned.
 */
const nodeUdpSocket: UdpSocketFactory = async ({
  bindAddress,
  connect,
  multicastInterface,
  multicastTtl,
  onMessage,
  onError,
}) => {
  const socket = dgram.createSocket({ type: 'udp4' });
  let closed = false;
  socket.on('message', (msg, rinfo) =>
    onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), {
      host: rinfo.address,
      port: rinfo.port,
    }),
  );
  socket.on('error', (e) => onError?.(e));
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: bindAddress ?? '0.0.0.0', port: 0 }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (connect != null) {
      await new Promise<void>((resolve, reject) =>
        socket.connect(connect.port, connect.host, (e?: Error) =>
          e != null ? reject(e) : resolve(),
        ),
      );
    }
    if (multicastTtl != null) socket.setMulticastTTL(multicastTtl);
    if (multicastInterface != null) socket.setMulticastInterface(multicastInterface);
  } catch (e) {
    socket.close();
    throw new ErrorUPnPGatewayUnreachable(
      `Could not open a UDP socket${connect != null ? ` to ${connect.host}:${connect.port}` : ''}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const udp: UdpSocket = {
    localAddress: socket.address().address,
    send: (data, port, host) =>
      new Promise<void>((resolve, reject) => {
        const done = (e: Error | null) => {
          if (e == null) return resolve();
          reject(
            new ErrorUPnPGatewayUnreachable(
              `Sending to ${host ?? connect?.host}:${port ?? connect?.port} failed: ${e.message}`,
              { cause: e },
            ),
          );
        };
        if (port == null) socket.send(data, done);
        else socket.send(data, port, host, done);
      }),
    close: () => {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
  return udp;
};

export default nodeUdpSocket;
