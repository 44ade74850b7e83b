import type { Address } from '@node-network/network-interface';
import { describe, test, expect } from '@jest/globals';
import fc from 'fast-check';
import { errors as baseErrors } from '@node-network/network-interface';
import { Network } from '@node-network/netsim';
import DatagramCircuit from '../src/datagram/DatagramCircuit.js';
import { bindingLength, decodeBinding, encodeBinding, isControl } from '../src/datagram/binding.js';
import * as errors from '../src/errors.js';

describe('binding datagrams', () => {
  test('any 16-byte token round-trips and reads as control', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (token) => {
        const d = encodeBinding(token);
        expect(d.byteLength).toBe(bindingLength);
        expect(isControl(d)).toBe(true);
        expect(Buffer.from(decodeBinding(d)!).equals(Buffer.from(token))).toBe(true);
      }),
    );
  });

  test('arbitrary bytes never throw; QUIC packets (fixed bit set) are never control', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), (data) => {
        const token = decodeBinding(data);
        if (token != null) expect(data[0]).toBe(0x00);
        if (data.byteLength > 0 && (data[0] & 0x40) !== 0) expect(isControl(data)).toBe(false);
      }),
    );
  });

  test('a token of the wrong length is refused', () => {
    expect(() => encodeBinding(new Uint8Array(15))).toThrow(RangeError);
  });
});

/** A relay host R and three others (a, b, a stranger s) on the simulated internet. */
function world(limits: Partial<{ maxBytes: number; rate: number; idleTimeoutTime: number }> = {}) {
  const net = new Network({ seed: 3, latency: 5 });
  const host = (name: string, ip: string) => net.addHost({ name, ipv4: ip });
  const r = host('r', '198.51.100.1');
  const [a, b, s] = [
    host('a', '198.51.100.2'),
    host('b', '198.51.100.3'),
    host('s', '198.51.100.4'),
  ];
  const ports = { a: net.bind(r, 'ipv4'), b: net.bind(r, 'ipv4') };
  const tokens = { a: new Uint8Array(16).fill(1), b: new Uint8Array(16).fill(2) };
  const circuit = new DatagramCircuit({
    ports,
    tokens,
    clock: net.clock,
    limits: { maxBytes: 1e9, rate: 0, idleTimeoutTime: 60_000, ...limits },
  });
  const pa = net.bind(a, 'ipv4');
  const pb = net.bind(b, 'ipv4');
  const ps = net.bind(s, 'ipv4');
  const inbox = (p: typeof pa) => {
    const got: Array<{ data: Uint8Array; from: Address }> = [];
    p.onDatagram((data, from) => got.push({ data, from }));
    return got;
  };
  const settle = async (ms = 50) => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    net.clock.advance(ms);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return {
    net,
    circuit,
    ports,
    tokens,
    pa,
    pb,
    ps,
    inA: inbox(pa),
    inB: inbox(pb),
    inS: inbox(ps),
    settle,
  };
}

const quicLike = (n: number, fill = 7) => {
  const d = new Uint8Array(n).fill(fill);
  d[0] = 0x40;
  return d;
};

describe('DatagramCircuit (netsim, virtual clock)', () => {
  test('forwards both ways, unchanged, only once both sides bound; the other side sees the relay port', async () => {
    const w = world();
    await w.pa.send(quicLike(100), w.ports.a.localAddress);
    await w.settle();
    expect(w.circuit.dropped).toBe(1); // nobody bound yet
    const bound = w.circuit.whenBound('b', 1_000);
    await w.pb.send(encodeBinding(w.tokens.b), w.ports.b.localAddress);
    await w.pa.send(encodeBinding(w.tokens.a), w.ports.a.localAddress);
    await w.settle();
    await bound;
    await w.pa.send(quicLike(1200, 9), w.ports.a.localAddress);
    await w.pb.send(quicLike(800, 3), w.ports.b.localAddress);
    await w.settle();
    expect(w.inB).toHaveLength(1);
    expect(Buffer.from(w.inB[0].data).equals(Buffer.from(quicLike(1200, 9)))).toBe(true);
    expect(w.inB[0].from).toEqual(w.ports.b.localAddress);
    expect(w.inA).toHaveLength(1);
    expect(w.inA[0].from).toEqual(w.ports.a.localAddress);
    expect(w.circuit.bytes).toBe(2000);
    expect(w.circuit.forwarded).toBe(2);
    await w.circuit.close();
  });

  test('a stranger can neither inject nor take a side: wrong tokens and unbound addresses are dropped', async () => {
    const w = world();
    await w.pa.send(encodeBinding(w.tokens.a), w.ports.a.localAddress);
    await w.pb.send(encodeBinding(w.tokens.b), w.ports.b.localAddress);
    await w.settle();
    // Wrong token (B's token at A's port, a zero token) and plain packets from the stranger.
    await w.ps.send(encodeBinding(w.tokens.b), w.ports.a.localAddress);
    await w.ps.send(encodeBinding(new Uint8Array(16)), w.ports.a.localAddress);
    await w.ps.send(quicLike(500), w.ports.a.localAddress);
    await w.ps.send(quicLike(500), w.ports.b.localAddress);
    await w.settle();
    expect(w.inB).toHaveLength(0);
    expect(w.inA).toHaveLength(0);
    expect(w.circuit.peer('a')).toEqual(w.pa.localAddress);
    // A still gets through.
    await w.pa.send(quicLike(10), w.ports.a.localAddress);
    await w.settle();
    expect(w.inB).toHaveLength(1);
    await w.circuit.close();
  });

  test('hostile datagrams in any order never throw and are never forwarded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 64 })), { maxLength: 40 }),
        hostile,
      ),
      { numRuns: 30 },
    );
  });

  async function hostile(sends: Array<[boolean, Uint8Array]>) {
    const w = world();
    await w.pa.send(encodeBinding(w.tokens.a), w.ports.a.localAddress);
    await w.pb.send(encodeBinding(w.tokens.b), w.ports.b.localAddress);
    await w.settle();
    for (const [toA, data] of sends) {
      if (data.byteLength === 0) continue;
      await w.ps.send(data, toA ? w.ports.a.localAddress : w.ports.b.localAddress);
    }
    await w.settle();
    expect(w.inA).toHaveLength(0);
    expect(w.inB).toHaveLength(0);
    expect(w.circuit.closed).toBe(false);
    await w.circuit.close();
  }

  test('the rate quota drops what exceeds it; the byte quota closes the circuit with a typed error', async () => {
    const w = world({ rate: 5_000, maxBytes: 12_000 });
    await w.pa.send(encodeBinding(w.tokens.a), w.ports.a.localAddress);
    await w.pb.send(encodeBinding(w.tokens.b), w.ports.b.localAddress);
    await w.settle();
    for (let i = 0; i < 10; i++) await w.pa.send(quicLike(1000), w.ports.a.localAddress);
    await w.settle(20);
    expect(w.inB).toHaveLength(5); // the one-second burst
    const closed = new Promise<Error | undefined>((r) => w.circuit.onClose(r));
    for (let s = 0; s < 4; s++) {
      w.net.clock.advance(1_000);
      for (let i = 0; i < 3; i++) await w.pa.send(quicLike(1000), w.ports.a.localAddress);
      await w.settle(20);
    }
    expect(await closed).toBeInstanceOf(errors.ErrorRelayQuotaExceeded);
    expect(w.circuit.closed).toBe(true);
    expect(w.ports.a.closed).toBe(true);
    expect(w.ports.b.closed).toBe(true);
  });

  test('idle: nothing crossing for the idle time closes it; traffic keeps it open', async () => {
    const w = world({ idleTimeoutTime: 10_000 });
    await w.pa.send(encodeBinding(w.tokens.a), w.ports.a.localAddress);
    await w.pb.send(encodeBinding(w.tokens.b), w.ports.b.localAddress);
    await w.settle();
    for (let i = 0; i < 5; i++) {
      w.net.clock.advance(4_000);
      await w.pa.send(quicLike(50), w.ports.a.localAddress);
      await w.settle();
    }
    expect(w.circuit.closed).toBe(false);
    const closed = new Promise<Error | undefined>((r) => w.circuit.onClose(r));
    w.net.clock.advance(11_000);
    expect(await closed).toBeInstanceOf(baseErrors.ErrorConnectionIdleTimeout);
  });

  test('whenBound times out with ErrorTimeout and rejects on close', async () => {
    const w = world();
    const t = w.circuit.whenBound('a', 1_000);
    w.net.clock.advance(1_001);
    await expect(t).rejects.toBeInstanceOf(baseErrors.ErrorTimeout);
    const c = w.circuit.whenBound('b', 5_000);
    await w.circuit.close(new baseErrors.ErrorConnectionClosed('gone'));
    await expect(c).rejects.toBeInstanceOf(baseErrors.ErrorConnectionClosed);
  });
});
