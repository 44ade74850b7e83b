import type { RemoteInfo, Socket } from 'node:dgram';
import { nativeForSocket } from './gso.js';
import TurnBudget from './turnBudget.js';

/**
 * Batched UDP receives. Node's `dgram` reads one datagram per system call and
 * allocates a 64 KiB buffer, builds an address object in C++ and calls back
 * once per datagram; on a QUIC receiver that was most of the CPU (perf: libc
 * malloc, V8 object creation, `UDPWrap::OnRecv`). Here the socket's own
 * 'message' event is the wake-up: after Node delivered one datagram, a
 * listener placed after the QUIC engine's reads what else waits with one
 * `recvmmsg` (up to 64 datagrams into one reused buffer, `native/udp_gso.c`)
 * and hands each to the engine in arrival order. When nothing waits it reads
 * nothing; libuv's own next read then finds the socket empty.
 */
type RecvStats = { batches: number; datagrams: number };

/** What the engine does with one datagram: `data` is a view reused once it returns. */
type DatagramSink = (data: Buffer, remoteInfo: RemoteInfo) => void;

/** Per datagram: a slot of the largest UDP payload, so nothing is ever truncated. */
const slot = 65536;
/** Datagrams per `recvmmsg`. Pages of a slot are only touched as far as datagrams reach. */
const maxBatch = 64;
/** Bytes of `meta` per datagram (see `Recv` in native/udp_gso.c). */
const metaSize = 72;
const truncated = 0xffffffff;
/**
 * Datagrams read in batches per socket per event-loop turn; beyond it Node's
 * own reads (up to 32 per wake-up) go on alone until the next turn. Without
 * it one turn could read about 2,000 datagrams and hold the event loop
 * (8 connections at full rate: receiver p99 32-47 ms, 12-18 ms with it).
 */
const batchedPerTurn = 256;

/**
 * One read buffer for every socket of this thread, made on the first read: a
 * node can have hundreds of sockets (birthday punching binds up to 256), and
 * a drain never runs inside another (it runs from a socket's 'message' event
 * and hands views that are consumed, or copied, before it returns).
 */
let sharedBuffers: { buffer: Buffer; meta: Buffer } | undefined;
function shared(): { buffer: Buffer; meta: Buffer } {
  return (sharedBuffers ??= {
    buffer: Buffer.allocUnsafeSlow(slot * maxBatch),
    meta: Buffer.allocUnsafeSlow(metaSize * maxBatch),
  });
}

/**
 * Installs the batched receive on a bound `socket` whose 'message' listener
 * so far is the engine's (`sink` is that engine's handler for views), and
 * returns how to remove it; or the reason it cannot (a sentence for the log).
 * If anyone else listens to the socket's messages, it reads nothing itself,
 * so every datagram still reaches every listener.
 */
function installRecvBatch(
  socket: Socket,
  sink: DatagramSink,
  stats: RecvStats = { batches: 0, datagrams: 0 },
): (() => void) | string {
  const use = nativeForSocket(socket, 'recvmmsg batching');
  if (typeof use === 'string') return use;
  const { native, fd } = use;
  if (socket.listenerCount('message') !== 1) {
    return `the socket has ${socket.listenerCount('message')} message listeners, not the engine's alone`;
  }
  const budget = new TurnBudget(batchedPerTurn);
  const drain = () => {
    // Ours and the engine's: with a third listener, every datagram goes Node's way.
    if (budget.exhausted || socket.listenerCount('message') !== 2) return;
    // Read only from inside the socket's own event: the descriptor is open and still this socket's.
    const { buffer, meta } = shared();
    const n = native.recv(fd, buffer, slot, maxBatch, meta);
    // 0: nothing waits; < 0: an error libuv's own read meets and reports.
    if (n <= 0) return;
    budget.charge(n);
    stats.batches++;
    stats.datagrams += n;
    for (let i = 0; i < n; i++) {
      const m = i * metaSize;
      const length = meta.readUInt32LE(m);
      if (length === truncated) continue;
      sink(buffer.subarray(i * slot, i * slot + length), {
        address: meta.toString('latin1', m + 8, m + 8 + meta[m + 7]),
        family: meta[m + 6] === 4 ? 'IPv4' : 'IPv6',
        port: meta.readUInt16LE(m + 4),
        size: length,
      });
    }
  };
  socket.on('message', drain);
  return () => void socket.off('message', drain);
}

export { installRecvBatch };
export type { DatagramSink, RecvStats };
