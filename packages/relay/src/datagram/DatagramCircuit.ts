import type {
  Address,
  Clock,
  DatagramPort,
  TimerHandle,
  Unsubscribe,
} from '@node-network/network-interface';
import { errors as baseErrors } from '@node-network/network-interface';
import { addresses } from '@node-network/transport';
import { decodeBinding, isControl, tokensEqual } from './binding.js';
import * as errors from '../errors.js';

type Side = 'a' | 'b';

type DatagramCircuitLimits = {
  /** Bytes the circuit may carry, both directions together; beyond it the circuit is closed. */
  maxBytes: number;
  /** Bytes per second in each direction (0: no limit); datagrams beyond it are dropped (QUIC slows down). */
  rate: number;
  /** Nothing forwarded for this long closes the circuit, ms. */
  idleTimeoutTime: number;
};

const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');

/**
 * The relay's half of a datagram circuit: two UDP ports, one facing the
 * source A and one facing the target B. Each side first sends its binding
 * (its token, from the socket its QUIC connection uses); from then on every
 * datagram from that address is sent on, unchanged, out of the other port to
 * the other side's bound address. A and B run one end-to-end QUIC connection
 * through it: the relay sees QUIC ciphertext only and does no QUIC work, so
 * it costs a datagram forward per packet instead of two QUIC stacks.
 * Datagrams from any other address, control datagrams (first byte 0x00) and
 * datagrams for a side not yet bound are dropped. The rate quota drops what
 * exceeds it (the QUIC congestion controller backs off), the byte quota
 * closes the circuit with `ErrorRelayQuotaExceeded`.
 */
class DatagramCircuit {
  public bytes = 0;
  public forwarded = 0;
  public dropped = 0;
  public closed = false;
  protected peers: { a?: Address; b?: Address } = {};
  protected tokens: Record<Side, Uint8Array>;
  protected ports: Record<Side, DatagramPort>;
  protected clock: Clock;
  protected limits: DatagramCircuitLimits;
  protected buckets: Record<Side, { tokens: number; last: number }>;
  protected lastActive: number;
  protected idleTimer?: TimerHandle;
  protected unsubscribes: Array<Unsubscribe> = [];
  protected boundWaiters: Array<{ side: Side; resolve: () => void }> = [];
  protected closeHandlers: Array<(reason: Error | undefined) => void> = [];
  protected alter: (data: Uint8Array, from: Side) => Uint8Array | undefined;
  protected onSendError = () => {
    this.dropped++;
  };

  public constructor({
    ports,
    tokens,
    clock,
    limits,
    alter = (d) => d,
  }: {
    ports: Record<Side, DatagramPort>;
    tokens: Record<Side, Uint8Array>;
    clock: Clock;
    limits: DatagramCircuitLimits;
    /** What is forwarded of a datagram from `from` (tests make hostile relays with it). */
    alter?: (data: Uint8Array, from: Side) => Uint8Array | undefined;
  }) {
    this.ports = ports;
    this.tokens = tokens;
    this.clock = clock;
    this.limits = limits;
    this.alter = alter;
    const now = clock.now();
    this.lastActive = now;
    this.buckets = { a: { tokens: limits.rate, last: now }, b: { tokens: limits.rate, last: now } };
    for (const side of ['a', 'b'] as const) {
      this.unsubscribes.push(
        ports[side].onDatagram((data, from) => this.receive(side, data, from)),
      );
    }
    this.scheduleIdleCheck();
  }

  /** Where side `side`'s binding came from (its QUIC socket after NAT), once bound. */
  public peer(side: Side): Address | undefined {
    return this.peers[side];
  }

  /** Resolves once `side` has bound; rejects with `ErrorTimeout` after `timeoutMs`, `ErrorConnectionClosed` on close. */
  public whenBound(side: Side, timeoutMs: number): Promise<void> {
    if (this.peers[side] != null) return Promise.resolve();
    if (this.closed) {
      return Promise.reject(new baseErrors.ErrorConnectionClosed('The circuit is closed'));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        side,
        resolve: () => {
          timer.cancel();
          off();
          resolve();
        },
      };
      const timer = this.clock.setTimer(timeoutMs, () => {
        this.boundWaiters = this.boundWaiters.filter((w) => w !== waiter);
        off();
        reject(
          new baseErrors.ErrorTimeout(
            `No binding from side ${side} reached relay port ${this.ports[side].localAddress.port} within ${timeoutMs} ms`,
          ),
        );
      });
      const off = this.onClose((reason) => {
        timer.cancel();
        reject(reason ?? new baseErrors.ErrorConnectionClosed('The circuit closed'));
      });
      this.boundWaiters.push(waiter);
    });
  }

  public onClose(handler: (reason: Error | undefined) => void): Unsubscribe {
    this.closeHandlers.push(handler);
    return () => {
      this.closeHandlers = this.closeHandlers.filter((h) => h !== handler);
    };
  }

  /** Stops forwarding and closes both ports; idempotent. */
  public async close(reason?: Error): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.idleTimer?.cancel();
    for (const u of this.unsubscribes) u();
    this.unsubscribes = [];
    this.boundWaiters = [];
    const handlers = this.closeHandlers;
    this.closeHandlers = [];
    for (const h of handlers) h(reason);
    await Promise.all([this.ports.a.close(), this.ports.b.close()]);
  }

  protected receive(side: Side, data: Uint8Array, from: Address): void {
    if (this.closed) return;
    if (isControl(data)) {
      const token = decodeBinding(data);
      if (token != null && tokensEqual(token, this.tokens[side])) {
        // Bound (again: a NAT may have moved the mapping; only the token holder can move it).
        this.peers[side] = from;
        this.lastActive = this.clock.now();
        const ready = this.boundWaiters.filter((w) => w.side === side);
        this.boundWaiters = this.boundWaiters.filter((w) => w.side !== side);
        for (const w of ready) w.resolve();
      } else {
        this.dropped++;
      }
      return;
    }
    const source = this.peers[side];
    const dest = this.peers[other(side)];
    if (source == null || dest == null || !addresses.addressEquals(source, from)) {
      this.dropped++;
      return;
    }
    if (!this.admit(side, data.byteLength)) {
      this.dropped++;
      return;
    }
    const out = this.alter(data, side);
    if (out == null) {
      this.dropped++;
      return;
    }
    this.bytes += data.byteLength;
    this.forwarded++;
    this.lastActive = this.clock.now();
    if (this.bytes > this.limits.maxBytes) {
      void this.close(
        new errors.ErrorRelayQuotaExceeded(
          `The circuit carried more than ${this.limits.maxBytes} bytes, its quota`,
        ),
      );
      return;
    }
    // A datagram the network refuses is a lost datagram: QUIC recovers it.
    const port = this.ports[other(side)];
    if (port.post != null) {
      port.post(out, dest, this.onSendError);
    } else {
      port.send(out, dest).catch(this.onSendError);
    }
  }

  /** The rate quota of datagrams from `side`: a token bucket with a one-second burst. */
  protected admit(side: Side, n: number): boolean {
    const rate = this.limits.rate;
    if (rate <= 0) return true;
    const b = this.buckets[side];
    const now = this.clock.now();
    b.tokens = Math.min(rate, b.tokens + ((now - b.last) * rate) / 1000);
    b.last = now;
    if (b.tokens < n) return false;
    b.tokens -= n;
    return true;
  }

  protected scheduleIdleCheck(): void {
    const idle = this.limits.idleTimeoutTime;
    if (idle <= 0 || this.closed) return;
    const due = Math.max(1, this.lastActive + idle - this.clock.now());
    this.idleTimer = this.clock.setTimer(due, () => {
      if (this.closed) return;
      if (this.clock.now() - this.lastActive >= idle) {
        void this.close(
          new baseErrors.ErrorConnectionIdleTimeout(`Nothing crossed the circuit for ${idle} ms`),
        );
      } else {
        this.scheduleIdleCheck();
      }
    });
  }
}

export default DatagramCircuit;
export type { DatagramCircuitLimits, Side };
