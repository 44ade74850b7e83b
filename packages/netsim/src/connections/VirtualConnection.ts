import type { ContextTimedInput } from '@matrixai/contexts';
import type {
  Address,
  Clock,
  Connection,
  NodeId,
  Stream,
  TimerHandle,
  Unsubscribe,
} from '@node-network/network-interface';
import type { DatagramPort } from '@node-network/network-interface';
import type { Packet } from './packets.js';
import { errors as baseErrors } from '@node-network/network-interface';
import VirtualStream from './VirtualStream.js';
import { encodePacket } from './packets.js';

type VirtualConnectionConfig = {
  /** Send a keepalive when nothing was sent for this long, ms. */
  keepAliveIntervalTime: number;
  /** Close when nothing was received for this long, ms. */
  maxIdleTimeout: number;
  /** Packets in flight (sent, not acknowledged) before writes wait. */
  window: number;
  /** First retransmission timeout, ms; it doubles on every retransmission. */
  initialRto: number;
  maxRto: number;
};

const connectionConfigDefault: VirtualConnectionConfig = {
  keepAliveIntervalTime: 10_000,
  maxIdleTimeout: 30_000,
  window: 128,
  initialRto: 250,
  maxRto: 4_000,
};

type InFlight = { bytes: Uint8Array; sentAt: number; retransmitted: boolean };

/**
 * A simulated connection: a reliable, ordered sequence of stream frames over
 * the virtual network's datagrams (so NAT mappings, filtering, loss and
 * partitions apply to it exactly as to raw UDP). Lost packets are
 * retransmitted after an adaptive timeout; a peer that stops answering is
 * detected by the idle timeout. Identities are claimed, not proven: netsim
 * simulates reachability, not cryptography.
 */
class VirtualConnection implements Connection {
  public readonly id: string;
  public readonly localNodeId: NodeId;
  public readonly remoteNodeId: NodeId;
  public readonly localAddress: Address;
  public remoteAddress: Address;
  public readonly initiator: 'local' | 'remote';
  /** Our id for this connection (packets to us carry it). */
  public readonly connId: number;
  /** The peer's id for it (packets we send carry it). */
  public readonly peerConnId: number;
  protected port: DatagramPort;
  protected clock: Clock;
  protected config: VirtualConnectionConfig;
  protected _closed = false;
  protected streams = new Map<number, VirtualStream>();
  protected nextLocalStream: number;
  protected highestPeerStream = -1;
  protected streamHandlers = new Set<(stream: Stream) => void>();
  protected closeHandlers = new Set<(reason: Error | undefined) => void>();
  protected closeReason?: Error;
  protected onClosed: () => void;
  // Reliability.
  protected nextSeq = 0;
  protected inFlight = new Map<number, InFlight>();
  protected waiting: Array<() => void> = [];
  protected rto: number;
  protected srtt?: number;
  protected rtoTimer?: TimerHandle;
  protected recvNext = 0;
  protected recvBuffer = new Map<number, Packet & { type: 'frame' }>();
  // Liveness.
  protected lastSent: number;
  protected lastReceived: number;
  protected tickTimer?: TimerHandle;

  public constructor({
    id,
    localNodeId,
    remoteNodeId,
    port,
    remoteAddress,
    initiator,
    connId,
    peerConnId,
    clock,
    config,
    onClosed,
  }: {
    id: string;
    localNodeId: NodeId;
    remoteNodeId: NodeId;
    port: DatagramPort;
    remoteAddress: Address;
    initiator: 'local' | 'remote';
    connId: number;
    peerConnId: number;
    clock: Clock;
    config: VirtualConnectionConfig;
    onClosed: () => void;
  }) {
    this.id = id;
    this.localNodeId = localNodeId;
    this.remoteNodeId = remoteNodeId;
    this.port = port;
    this.localAddress = port.localAddress;
    this.remoteAddress = remoteAddress;
    this.initiator = initiator;
    this.connId = connId;
    this.peerConnId = peerConnId;
    this.clock = clock;
    this.config = config;
    this.onClosed = onClosed;
    this.nextLocalStream = initiator === 'local' ? 0 : 1;
    this.rto = config.initialRto;
    this.lastSent = this.lastReceived = clock.now();
    this.scheduleTick();
  }

  public get closed(): boolean {
    return this._closed;
  }

  /** Streams open now (an upgraded relayed connection closes once this is 0). */
  public get openStreams(): number {
    return this.streams.size;
  }

  public async openStream(_ctx?: Partial<ContextTimedInput>): Promise<Stream> {
    if (this._closed) throw this.closedError();
    const stream = new VirtualStream(this, this.nextLocalStream);
    this.nextLocalStream += 2;
    this.streams.set(stream.id, stream);
    return stream;
  }

  public onStream(handler: (stream: Stream) => void): Unsubscribe {
    this.streamHandlers.add(handler);
    return () => this.streamHandlers.delete(handler);
  }

  public onClose(handler: (reason: Error | undefined) => void): Unsubscribe {
    if (this._closed) {
      handler(this.closeReason);
      return () => {};
    }
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  public async close(reason?: Error): Promise<void> {
    if (this._closed) return;
    // Twice: a lost close still ends the peer's side by its idle timeout.
    this.send({ type: 'close', connId: this.peerConnId });
    this.send({ type: 'close', connId: this.peerConnId });
    this.terminate(reason);
  }

  /** Sends one stream frame reliably; resolves once it is in flight. */
  public async sendFrame(
    kind: 'data' | 'fin' | 'reset',
    streamId: number,
    data: Uint8Array = new Uint8Array(0),
  ): Promise<void> {
    while (this.inFlight.size >= this.config.window && !this._closed) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    if (this._closed) throw this.closedError();
    const seq = this.nextSeq++;
    const bytes = encodePacket({
      type: 'frame',
      connId: this.peerConnId,
      seq,
      kind,
      streamId,
      data,
    });
    this.inFlight.set(seq, { bytes, sentAt: this.clock.now(), retransmitted: false });
    this.transmit(bytes);
    if (this.rtoTimer == null) this.armRto();
  }

  public streamDone(streamId: number): void {
    this.streams.delete(streamId);
  }

  /** A packet for this connection arrived from `from`. */
  public handlePacket(p: Packet, from: Address): void {
    if (this._closed) return;
    this.lastReceived = this.clock.now();
    this.remoteAddress = from;
    switch (p.type) {
      case 'frame':
        return this.handleFrame(p);
      case 'ack':
        return this.handleAck(p.next);
      case 'close':
        return this.terminate(undefined);
      default:
        // keepalive, or a repeated welcome: liveness only.
        return;
    }
  }

  protected handleFrame(p: Packet & { type: 'frame' }): void {
    if (p.seq >= this.recvNext && p.seq < this.recvNext + 4 * this.config.window) {
      this.recvBuffer.set(p.seq, p);
      for (
        let f = this.recvBuffer.get(this.recvNext);
        f != null;
        f = this.recvBuffer.get(this.recvNext)
      ) {
        this.recvBuffer.delete(this.recvNext);
        this.recvNext++;
        this.deliver(f);
        if (this._closed) return;
      }
    }
    this.send({ type: 'ack', connId: this.peerConnId, next: this.recvNext });
  }

  protected deliver(f: Packet & { type: 'frame' }): void {
    let stream = this.streams.get(f.streamId);
    if (stream == null) {
      const peerParity = this.initiator === 'local' ? 1 : 0;
      // Only a new stream of the peer's parity opens; anything else is for a finished stream.
      if (f.streamId % 2 !== peerParity || f.streamId <= this.highestPeerStream) return;
      this.highestPeerStream = f.streamId;
      stream = new VirtualStream(this, f.streamId);
      this.streams.set(f.streamId, stream);
      stream.handleFrame(f.kind, f.data);
      for (const h of this.streamHandlers) h(stream);
      return;
    }
    stream.handleFrame(f.kind, f.data);
  }

  protected handleAck(next: number): void {
    let progressed = false;
    for (const [seq, entry] of this.inFlight) {
      if (seq >= next) continue;
      if (!entry.retransmitted) {
        const sample = this.clock.now() - entry.sentAt;
        this.srtt = this.srtt == null ? sample : 0.875 * this.srtt + 0.125 * sample;
      }
      this.inFlight.delete(seq);
      progressed = true;
    }
    if (!progressed) return;
    this.rto = Math.min(
      this.config.maxRto,
      Math.max(
        this.config.initialRto / 5,
        this.srtt != null ? 3 * this.srtt : this.config.initialRto,
      ),
    );
    this.rtoTimer?.cancel();
    this.rtoTimer = undefined;
    if (this.inFlight.size > 0) this.armRto();
    const ready = this.waiting.splice(0, this.config.window - this.inFlight.size);
    for (const r of ready) r();
  }

  protected armRto(): void {
    this.rtoTimer = this.clock.setTimer(this.rto, () => {
      this.rtoTimer = undefined;
      if (this._closed || this.inFlight.size === 0) return;
      // Go back: resend everything unacknowledged, back off.
      for (const entry of this.inFlight.values()) {
        entry.retransmitted = true;
        this.transmit(entry.bytes);
      }
      this.rto = Math.min(this.config.maxRto, this.rto * 2);
      this.armRto();
    });
  }

  protected scheduleTick(): void {
    const interval = Math.min(this.config.keepAliveIntervalTime, this.config.maxIdleTimeout / 2);
    this.tickTimer = this.clock.setTimer(interval, () => {
      if (this._closed) return;
      const now = this.clock.now();
      if (now - this.lastReceived >= this.config.maxIdleTimeout) {
        // Silently, as QUIC does: the peer is presumed gone.
        this.terminate(
          new baseErrors.ErrorConnectionIdleTimeout(
            `Nothing heard from the peer for ${now - this.lastReceived} ms`,
          ),
        );
        return;
      }
      if (now - this.lastSent >= this.config.keepAliveIntervalTime) {
        this.send({ type: 'keepalive', connId: this.peerConnId });
      }
      this.scheduleTick();
    });
  }

  protected send(p: Packet): void {
    this.transmit(encodePacket(p));
  }

  protected transmit(bytes: Uint8Array): void {
    if (this.port.closed) return;
    this.lastSent = this.clock.now();
    void this.port.send(bytes, this.remoteAddress).catch(() => {});
  }

  protected terminate(reason: Error | undefined): void {
    if (this._closed) return;
    this._closed = true;
    this.closeReason = reason;
    this.rtoTimer?.cancel();
    this.tickTimer?.cancel();
    this.inFlight.clear();
    for (const r of this.waiting.splice(0)) r();
    const error = this.closedError();
    for (const s of [...this.streams.values()]) s.fail(error);
    this.streams.clear();
    this.onClosed();
    for (const h of [...this.closeHandlers]) h(reason);
    this.closeHandlers.clear();
  }

  protected closedError(): Error {
    return new baseErrors.ErrorConnectionClosed(`Connection ${this.id} is closed`, {
      cause: this.closeReason,
    });
  }
}

export default VirtualConnection;
export { connectionConfigDefault };
export type { VirtualConnectionConfig };
