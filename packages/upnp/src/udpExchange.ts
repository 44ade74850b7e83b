import type { Clock, TimerHandle } from '@node-network/network-interface';
import type { PortMappingMethod, UdpSocket, UdpSocketFactory } from './types.js';
import { errors as baseErrors } from '@node-network/network-interface';
import { ErrorUPnPGatewayTimeout, ErrorUPnPGatewayUnreachable } from './errors.js';
import { retransmitOffsets } from './protocol/schedule.js';

/**
 * One UDP request to a gateway and its answer: a fresh socket connected to
 * `host:port`, the request resent at `initialRetransmitMs` doubling (RFC
 * 6886) until `accept` takes an answer or `timeoutMs` runs out.
 *
 * `accept` sees every datagram from the gateway: it returns the result,
 * `undefined` to keep waiting (not an answer to this request), or throws to
 * fail the exchange (a refusal, a malformed or lying answer). Rejects with
 * `ErrorUPnPGatewayTimeout`, `ErrorUPnPGatewayUnreachable` (ICMP
 * unreachable, send failure), `ErrorCancelled`, or what `accept` threw.
 */
async function udpExchange<T>({
  method,
  what,
  host,
  port,
  bindAddress,
  payload,
  accept,
  clock,
  socketFactory,
  initialRetransmitMs,
  timeoutMs,
  signal,
}: {
  method: PortMappingMethod;
  /** For messages: "an external address request". */
  what: string;
  host: string;
  port: number;
  bindAddress?: string;
  /** The request, or a function of our local address (PCP puts it in the request). */
  payload: Uint8Array | ((localAddress: string) => Uint8Array);
  accept: (data: Uint8Array) => T | undefined;
  clock: Clock;
  socketFactory: UdpSocketFactory;
  initialRetransmitMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<T> {
  if (signal?.aborted) {
    throw new baseErrors.ErrorCancelled(`${what} to ${host}:${port} was cancelled`, {
      cause: signal.reason,
    });
  }
  const timers: Array<TimerHandle> = [];
  let socket: UdpSocket | undefined;
  let onAbort: (() => void) | undefined;
  let sends = 0;
  try {
    return await new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        f();
      };
      onAbort = () =>
        settle(() =>
          reject(
            new baseErrors.ErrorCancelled(`${what} to ${host}:${port} was cancelled`, {
              cause: signal?.reason,
            }),
          ),
        );
      signal?.addEventListener('abort', onAbort, { once: true });
      timers.push(
        clock.setTimer(timeoutMs, () =>
          settle(() =>
            reject(
              new ErrorUPnPGatewayTimeout(
                `No answer from ${host}:${port} to ${what} within ${timeoutMs} ms (${sends} sent)`,
                { data: { method, timeoutMs } },
              ),
            ),
          ),
        ),
      );
      socketFactory({
        bindAddress,
        connect: { host, port },
        onMessage: (data) => {
          if (settled) return;
          try {
            const r = accept(data);
            if (r !== undefined) settle(() => resolve(r));
          } catch (e) {
            settle(() => reject(e));
          }
        },
        onError: (e) =>
          settle(() =>
            reject(
              new ErrorUPnPGatewayUnreachable(`${what} to ${host}:${port}: ${e.message}`, {
                cause: e,
                data: { method },
              }),
            ),
          ),
      }).then(
        (s) => {
          socket = s;
          if (settled) {
            s.close(); // settled while the socket was opening: the finally below may have run
            return;
          }
          let data: Uint8Array;
          try {
            data = typeof payload === 'function' ? payload(s.localAddress) : payload;
          } catch (e) {
            settle(() => reject(e));
            return;
          }
          const send = () => {
            if (settled) return;
            sends++;
            s.send(data).catch((e) => settle(() => reject(e)));
          };
          for (const offset of retransmitOffsets(initialRetransmitMs, timeoutMs)) {
            timers.push(clock.setTimer(offset, send));
          }
        },
        (e) => settle(() => reject(e)),
      );
    });
  } finally {
    for (const t of timers) t.cancel();
    if (onAbort != null) signal?.removeEventListener('abort', onAbort);
    socket?.close();
  }
}

export default udpExchange;
