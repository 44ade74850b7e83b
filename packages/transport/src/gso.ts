import type { Socket } from 'node:dgram';
import type Logger from '@matrixai/logger';
import { createRequire } from 'node:module';

/**
 * Batched UDP sends (UDP generic segmentation offload): one `sendmsg` carries
 * up to 63 KiB of equal-sized QUIC packets (the last may be shorter) and the
 * kernel cuts it into datagrams. `native/udp_gso.c`, built by
 * `scripts/build-native.mjs` during `pnpm build`.
 */
type GsoNative = {
  send(
    fd: number,
    family: 4 | 6,
    data: Uint8Array,
    length: number,
    segment: number,
    host: string,
    port: number,
  ): number;
  recv(fd: number, buffer: Uint8Array, slot: number, max: number, meta: Uint8Array): number;
};

/**
 * The hook the patched @matrixai/quic calls with a batch (`QUICSocket.gsoSend`):
 * true when the kernel took it, false when the caller must send the packets one
 * by one (socket buffer full, or the kernel cannot segment).
 */
type GsoSend = (
  data: Uint8Array,
  length: number,
  segment: number,
  port: number,
  host: string,
) => boolean;

type GsoStats = { batches: number; datagrams: number; refused: number };

// errno values (Linux)
const EIO = 5;
const EINVAL = 22;
const EOPNOTSUPP = 95;

// The module, or why it did not load. Not told apart with `instanceof Error`: an error
// from another realm (jest's module registry throws its host's Error) would pass for the module.
let loaded: { native: GsoNative } | { reason: string } | undefined;

function loadNative(): { native: GsoNative } | { reason: string } {
  if (loaded === undefined) {
    try {
      // src/ and dist/ both sit beside native/.
      const mod = createRequire(import.meta.url)('../native/build/udp_gso.node') as GsoNative;
      loaded =
        typeof mod?.send === 'function' && typeof mod?.recv === 'function'
          ? { native: mod }
          : { reason: 'udp_gso.node lacks its send or recv function (an old build?)' };
    } catch (e) {
      loaded = { reason: String((e as Error)?.message ?? e).split('\n')[0] };
    }
  }
  return loaded;
}

/** The OS descriptor of a bound `node:dgram` socket (not public API: read from its handle). */
function socketFd(socket: Socket): number | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const fd = state != null ? (socket as any)[state]?.handle?.fd : undefined;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** The native module and `socket`'s descriptor, or why they are not to be had (a sentence for the log). */
function nativeForSocket(socket: Socket, what: string): { native: GsoNative; fd: number } | string {
  if (process.platform !== 'linux') return `${what} is Linux only`;
  const load = loadNative();
  if ('reason' in load) {
    return `the native module did not load (${load.reason}; pnpm build compiles it)`;
  }
  const fd = socketFd(socket);
  if (fd == null) return 'the UDP socket does not expose its descriptor';
  return { native: load.native, fd };
}

/**
 * A `GsoSend` for a bound socket of `family`, or the reason there is none (a
 * sentence for the log). Once the kernel refuses segmentation (EIO, EINVAL,
 * EOPNOTSUPP on a batch) it logs that and sends one datagram per call from
 * then on.
 */
function makeGsoSend(
  socket: Socket,
  family: 'ipv4' | 'ipv6',
  logger: Logger,
  stats: GsoStats = { batches: 0, datagrams: 0, refused: 0 },
): GsoSend | string {
  const use = nativeForSocket(socket, 'UDP GSO');
  if (typeof use === 'string') return use;
  const { native, fd } = use;
  const fam = family === 'ipv4' ? 4 : 6;
  let enabled = true;
  return (data, length, segment, port, host) => {
    if (!enabled) return false;
    const r = native.send(fd, fam, data, length, segment, host, port);
    if (r >= 0) {
      stats.batches++;
      stats.datagrams += Math.ceil(length / segment);
      return true;
    }
    stats.refused++;
    if (length > segment && (r === -EIO || r === -EINVAL || r === -EOPNOTSUPP)) {
      enabled = false;
      logger.warn(
        `The kernel refused a UDP GSO batch (errno ${-r}); sending one datagram per system call from now on`,
      );
    }
    // EAGAIN / ENOBUFS (buffer full), unreachable and the like: the per-datagram
    // path queues the packets and reports errors as before.
    return false;
  };
}

export { makeGsoSend, nativeForSocket, socketFd };
export type { GsoNative, GsoSend, GsoStats };
