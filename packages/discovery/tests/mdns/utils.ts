import type { AddressFamily, Clock, TimerHandle } from '@node-network/network-interface';
import type {
  MulticastSocket,
  MulticastSocketFactory,
  InterfaceLister,
} from '../../src/mdns/types.js';

/** A clock that moves only when told: `advance(ms)` runs every timer due by then, in order. */
class ManualClock implements Clock {
  public t = 1000;
  protected timers: Array<{ due: number; seq: number; cb: () => void; live: boolean }> = [];
  protected seq = 0;
  public now(): number {
    return this.t;
  }
  public wallTime(): number {
    return 1.7e12 + this.t;
  }
  public setTimer(delay: number, cb: () => void): TimerHandle {
    const timer = { due: this.t + Math.max(0, delay), seq: this.seq++, cb, live: true };
    this.timers.push(timer);
    return {
      due: timer.due,
      cancel: () => {
        timer.live = false;
      },
    };
  }
  public async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((x) => x.live);
      this.timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.timers[0];
      if (next == null || next.due > end) break;
      this.t = Math.max(this.t, next.due);
      next.live = false;
      next.cb();
      // let promise continuations (sends) run
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
    await new Promise((r) => setImmediate(r));
  }
}

/** A seeded random source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Sent = {
  from: string;
  family: AddressFamily;
  data: Uint8Array;
  to?: { host: string; port: number };
};

/**
 * One in-memory link with the mDNS groups: a datagram to the group reaches
 * every socket of its family (the sender's too, as the kernel loops it
 * back); unicast reaches the socket of the host that has the address.
 * Every datagram is recorded in `sent`.
 */
class MemoryLink {
  public readonly sent: Array<Sent> = [];
  protected sockets: Array<{
    address: string;
    socket: MulticastSocket;
    deliver: (d: Uint8Array, f: { host: string; port: number }) => void;
  }> = [];
  public drop = false;

  /** The factory and interface list of a host with these addresses on `eth0`. */
  public host(addresses: Array<string>): {
    openSocket: MulticastSocketFactory;
    interfaces: InterfaceLister;
  } {
    const interfaces: InterfaceLister = () => ({
      lo: [{ address: '127.0.0.1', family: 'ipv4', prefixLength: 8, internal: true }],
      eth0: addresses.map((a) => ({
        address: a,
        family: a.includes(':') ? 'ipv6' : 'ipv4',
        prefixLength: a.includes(':') ? 64 : 24,
        internal: false,
      })),
    });
    const openSocket: MulticastSocketFactory = async ({ family, interfaceName }) => {
      const address = addresses.find((a) => a.includes(':') === (family === 'ipv6'))!;
      const handlers = new Set<(d: Uint8Array, f: { host: string; port: number }) => void>();
      let closed = false;
      const socket: MulticastSocket = {
        family,
        interfaceName,
        send: async (data, to) => {
          if (closed) return;
          this.sent.push({ from: address, family, data, to });
          if (this.drop) return;
          for (const s of [...this.sockets]) {
            if (s.socket.family !== family) continue;
            if (to != null && s.address !== to.host) continue;
            s.deliver(data, { host: address, port: 5353 });
          }
        },
        onMessage: (h) => {
          handlers.add(h);
          return () => handlers.delete(h);
        },
        close: async () => {
          closed = true;
          this.sockets = this.sockets.filter((s) => s.socket !== socket);
        },
      };
      this.sockets.push({
        address,
        socket,
        deliver: (d, f) => {
          if (!closed) for (const h of handlers) h(d, f);
        },
      });
      return socket;
    };
    return { openSocket, interfaces };
  }
}

export { ManualClock, MemoryLink, seeded };
