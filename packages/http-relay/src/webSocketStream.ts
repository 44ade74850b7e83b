import type { Address, Clock, Stream } from '@node-network/network-interface';
import type WebSocket from 'ws';
import net from 'node:net';
import { errors as baseErrors } from '@node-network/network-interface';
import { ErrorHttpRelayProtocol } from './errors.js';

/** Bytes a writer may queue on the WebSocket before its writes wait. */
const writeBuffer = 1024 * 1024;

/**
 * A WebSocket as a `Stream` of bytes (binary frames only; a text frame is a
 * protocol violation and closes it). Back-pressure both ways: a full
 * readable pauses the socket, a full send buffer holds the writer.
 */
function webSocketStream(ws: WebSocket): Stream {
  let failed: Error | undefined;
  const readable = new ReadableStream<Uint8Array>(
    {
      start: (controller) => {
        ws.on('message', (data, isBinary) => {
          if (failed != null) return;
          if (!isBinary) {
            failed = new ErrorHttpRelayProtocol('A text frame on a binary tunnel');
            controller.error(failed);
            ws.close(1003, 'binary frames only');
            return;
          }
          const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
          controller.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) ws.pause();
        });
        ws.on('close', (code, reason) => {
          if (failed != null) return;
          try {
            if (code === 1000) controller.close();
            else {
              failed = new baseErrors.ErrorConnectionClosed(
                `WebSocket closed (${code}${reason.length > 0 ? ` ${reason.toString().slice(0, 100)}` : ''})`,
              );
              controller.error(failed);
            }
          } catch {
            // already closed
          }
        });
        ws.on('error', (e) => {
          if (failed != null) return;
          failed = new baseErrors.ErrorConnectionClosed(`WebSocket failed: ${e.message}`, {
            cause: e,
          });
          try {
            controller.error(failed);
          } catch {
            // already closed
          }
        });
      },
      pull: () => {
        ws.resume();
      },
      cancel: () => {
        ws.terminate();
      },
    },
    { highWaterMark: 16 },
  );
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        if (ws.readyState !== ws.OPEN) {
          return reject(failed ?? new baseErrors.ErrorConnectionClosed('WebSocket is closed'));
        }
        let settled = false;
        ws.send(chunk, { binary: true }, (e) => {
          if (settled) return;
          settled = true;
          if (e != null)
            reject(
              new baseErrors.ErrorConnectionClosed(`WebSocket send failed: ${e.message}`, {
                cause: e,
              }),
            );
          else resolve();
        });
        // Pipelined while the send buffer has room; otherwise wait for this frame to go.
        if (ws.bufferedAmount < writeBuffer) {
          settled = true;
          resolve();
        }
      }),
    close: () => {
      ws.close(1000);
    },
    abort: () => {
      ws.terminate();
    },
  });
  return {
    readable,
    writable,
    cancel: () => ws.terminate(),
  };
}

/** The addresses of a WebSocket's TCP socket. */
function socketAddresses(ws: WebSocket): { local: Address; remote: Address } {
  const s = (ws as unknown as { _socket?: net.Socket })._socket;
  const of = (host: string | undefined, port: number | undefined): Address => {
    const h = (host ?? '0.0.0.0').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    return { host: h, port: port ?? 0, family: net.isIPv6(h) ? 'ipv6' : 'ipv4' } as Address;
  };
  return { local: of(s?.localAddress, s?.localPort), remote: of(s?.remoteAddress, s?.remotePort) };
}

export { webSocketStream, socketAddresses };

/**
 * Two `Stream`s joined in memory (what one writes the other reads): the
 * simulator's TCP. With a `clock`, each chunk arrives `latency` ms after it
 * was written, in order (virtual time then steps through the transfer
 * instead of jumping to the next far timer).
 */
function memoryStreamPair({ clock, latency = 10 }: { clock?: Clock; latency?: number } = {}): [
  Stream,
  Stream,
] {
  const lane = () => {
    if (clock == null) return new TransformStream<Uint8Array, Uint8Array>();
    let last = Promise.resolve();
    return new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, controller) => {
        const arrived = new Promise<void>((resolve) => clock.setTimer(latency, resolve));
        last = Promise.all([last, arrived]).then(() => controller.enqueue(chunk));
        return undefined;
      },
      flush: () => last,
    });
  };
  const ab = lane();
  const ba = lane();
  const cancel = (reason?: unknown) => {
    void ab.writable.abort(reason).catch(() => {});
    void ba.writable.abort(reason).catch(() => {});
  };
  return [
    { readable: ba.readable, writable: ab.writable, cancel },
    { readable: ab.readable, writable: ba.writable, cancel },
  ];
}

export { memoryStreamPair };
