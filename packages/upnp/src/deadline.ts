import type { Clock } from '@node-network/network-interface';
import type { PortMappingMethod } from './types.js';
import { errors as baseErrors } from '@node-network/network-interface';
import { ErrorUPnPGatewayTimeout } from './errors.js';

/**
 * A signal that aborts after `timeoutMs` on `clock` with
 * `ErrorUPnPGatewayTimeout`, or when `outer` aborts with `ErrorCancelled`.
 * `cancel()` releases the timer and the listener.
 */
function deadline({
  clock,
  timeoutMs,
  outer,
  what,
  method,
}: {
  clock: Clock;
  timeoutMs: number;
  outer?: AbortSignal;
  what: string;
  method: PortMappingMethod;
}): { signal: AbortSignal; cancel: () => void } {
  const abort = new AbortController();
  const onOuter = () =>
    abort.abort(new baseErrors.ErrorCancelled(`${what} was cancelled`, { cause: outer?.reason }));
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  const timer = clock.setTimer(timeoutMs, () =>
    abort.abort(
      new ErrorUPnPGatewayTimeout(`${what} did not finish within ${timeoutMs} ms`, {
        data: { method, timeoutMs },
      }),
    ),
  );
  return {
    signal: abort.signal,
    cancel: () => {
      timer.cancel();
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

export default deadline;
