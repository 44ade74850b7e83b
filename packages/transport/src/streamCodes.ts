import { errors as baseErrors } from '@node-network/network-interface';

/**
 * Application codes of QUIC RESET_STREAM and STOP_SENDING frames: why one side
 * ended a stream direction abruptly. Sent by `reasonToCode` from the error an
 * application cancelled or aborted with, read back by `codeToReason` as a typed
 * `ErrorStreamReset` (never @matrixai/quic's default plain `Error('read 0')`).
 * Codes a peer sends that are not listed here (a Polykey 1.x agent's own) keep
 * their number and read as `code N`.
 */
const streamCodes = {
  unspecified: 0,
  cancelled: 1,
  timeout: 2,
  protocol: 3,
  failed: 4,
} as const;

type StreamCodeName = keyof typeof streamCodes;

const names = new Map<number, StreamCodeName>(
  Object.entries(streamCodes).map(([k, v]) => [v, k as StreamCodeName]),
);

function reasonToCode(_type: 'read' | 'write', reason?: unknown): number {
  if (reason == null) return streamCodes.unspecified;
  // A reset that reached us and is passed on keeps its code.
  if (reason instanceof baseErrors.ErrorStreamReset) {
    const code = (reason.data as { code?: unknown })?.code;
    if (typeof code === 'number' && Number.isSafeInteger(code) && code >= 0) return code;
  }
  if (reason instanceof baseErrors.ErrorCancelled) return streamCodes.cancelled;
  if (reason instanceof baseErrors.ErrorTimeout) return streamCodes.timeout;
  if (reason instanceof baseErrors.ErrorCodec) return streamCodes.protocol;
  const name = (reason as { name?: unknown }).name;
  if (typeof name === 'string') {
    if (/Timed?Out|Timeout/i.test(name)) return streamCodes.timeout;
    if (/Cancel|Abort/i.test(name)) return streamCodes.cancelled;
    if (/Parse|Codec|Protocol|Malformed|Invalid/i.test(name)) return streamCodes.protocol;
  }
  return streamCodes.failed;
}

function codeName(code: number): string {
  return names.get(code) ?? `code ${code}`;
}

function codeToReason(type: 'read' | 'write', code: number): baseErrors.ErrorStreamReset<unknown> {
  const reason = codeName(code);
  return new baseErrors.ErrorStreamReset(
    type === 'read'
      ? `The peer reset the stream (${reason})`
      : `The peer stopped reading the stream (${reason})`,
    { data: { direction: type, code, reason } },
  );
}

export { streamCodes, reasonToCode, codeToReason, codeName };
export type { StreamCodeName };
