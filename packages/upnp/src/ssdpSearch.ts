import type { Clock, TimerHandle } from '@node-network/network-interface';
import type Logger from '@matrixai/logger';
import type { UdpSocket, UdpSocketFactory } from './types.js';
import { errors as baseErrors } from '@node-network/network-interface';
import { ErrorUPnPGatewayTimeout, ErrorUPnPResponseInvalid } from './errors.js';
import { retransmitOffsets } from './protocol/schedule.js';
import {
  decodeSsdpResponse,
  encodeMSearch,
  igdSearchTargets,
  isGatewaySearchTarget,
} from './protocol/ssdp.js';

type SsdpCandidate = { location: string; st: string; from: string };

/**
 * Searches for Internet Gateway Devices: M-SEARCH for IGD:1 and IGD:2 to
 * `target` (the SSDP multicast group, or a fake's address in tests), resent
 * at `answerTimeoutMs` doubling. Resolves as soon as `preferredResponder`
 * (the default gateway) answers, else `answerTimeoutMs` after the first
 * valid answer, with the answers found (the preferred responder's first).
 * Answers that are malformed, name something other than a gateway, or whose
 * LOCATION points at a host other than the responder are skipped and
 * logged. Rejects with `ErrorUPnPGatewayTimeout` when nothing valid came
 * within `timeoutMs` (or with the last invalid answer's
 * `ErrorUPnPResponseInvalid`), or `ErrorCancelled`.
 */
async function ssdpSearch({
  target,
  bindAddress,
  preferredResponder,
  clock,
  socketFactory,
  timeoutMs,
  answerTimeoutMs,
  signal,
  logger,
}: {
  target: { host: string; port: number };
  bindAddress?: string;
  preferredResponder?: string;
  clock: Clock;
  socketFactory: UdpSocketFactory;
  timeoutMs: number;
  answerTimeoutMs: number;
  signal?: AbortSignal;
  logger: Logger;
}): Promise<Array<SsdpCandidate>> {
  const where = `${target.host}:${target.port}`;
  if (signal?.aborted) {
    throw new baseErrors.ErrorCancelled(`SSDP search on ${where} was cancelled`, {
      cause: signal.reason,
    });
  }
  const timers: Array<TimerHandle> = [];
  const candidates: Array<SsdpCandidate> = [];
  let lastInvalid: ErrorUPnPResponseInvalid<unknown> | undefined;
  let socket: UdpSocket | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<Array<SsdpCandidate>>((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        f();
      };
      const done = () =>
        settle(() => {
          const preferred = candidates.filter((c) => c.from === preferredResponder);
          resolve([...preferred, ...candidates.filter((c) => c.from !== preferredResponder)]);
        });
      onAbort = () =>
        settle(() =>
          reject(
            new baseErrors.ErrorCancelled(`SSDP search on ${where} was cancelled`, {
              cause: signal?.reason,
            }),
          ),
        );
      signal?.addEventListener('abort', onAbort, { once: true });
      timers.push(
        clock.setTimer(timeoutMs, () => {
          if (candidates.length > 0) return done();
          settle(() =>
            reject(
              lastInvalid ??
                new ErrorUPnPGatewayTimeout(
                  `No Internet Gateway Device answered SSDP on ${where} within ${timeoutMs} ms`,
                  { data: { method: 'upnp', timeoutMs } },
                ),
            ),
          );
        }),
      );
      const onMessage = (data: Uint8Array, from: { host: string; port: number }) => {
        if (settled) return;
        let answer;
        try {
          answer = decodeSsdpResponse(data);
        } catch (e) {
          lastInvalid = e as ErrorUPnPResponseInvalid<unknown>;
          logger.debug(`Skipped an SSDP answer from ${from.host}: ${(e as Error).message}`);
          return;
        }
        if (!isGatewaySearchTarget(answer.st)) return;
        const host = new URL(answer.location).hostname;
        if (host !== from.host) {
          lastInvalid = new ErrorUPnPResponseInvalid(
            `SSDP: ${from.host} answered with a LOCATION on another host (${host})`,
            { data: { method: 'upnp', reason: 'LOCATION on another host' } },
          );
          logger.warn(lastInvalid.message);
          return;
        }
        if (candidates.some((c) => c.location === answer.location)) return;
        candidates.push({ location: answer.location, st: answer.st, from: from.host });
        if (from.host === preferredResponder) return done();
        if (candidates.length === 1) timers.push(clock.setTimer(answerTimeoutMs, done));
      };
      socketFactory({
        bindAddress,
        multicastInterface: bindAddress,
        multicastTtl: 2,
        onMessage,
        onError: (e) => logger.debug(`SSDP socket: ${e.message}`),
      }).then(
        (s) => {
          socket = s;
          if (settled) {
            s.close();
            return;
          }
          const send = () => {
            if (settled) return;
            for (const st of igdSearchTargets) {
              s.send(encodeMSearch({ searchTarget: st }), target.port, target.host).catch((e) =>
                logger.debug(`SSDP send to ${where}: ${(e as Error).message}`),
              );
            }
          };
          for (const offset of retransmitOffsets(answerTimeoutMs, timeoutMs, 3)) {
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

export default ssdpSearch;
export type { SsdpCandidate };
