import { describe, test, expect, afterEach } from '@jest/globals';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import RelayService from '../src/RelayService.js';
import RelayedConnection from '../src/RelayedConnection.js';
import * as errors from '../src/errors.js';
import { relayNodes, link, pattern, readAll, sleep } from './utils.js';
import type { RelayNode } from './utils.js';

/** Echoes every stream on every inbound relayed connection of `n`. */
function echo(n: RelayNode): void {
  const wire = (c: RelayedConnection) =>
    c.onStream((s) => void s.readable.pipeTo(s.writable).catch(() => {}));
  n.inbound.forEach(wire);
  const push = n.inbound.push.bind(n.inbound);
  n.inbound.push = (...cs: Array<RelayedConnection>) => {
    cs.forEach(wire);
    return push(...cs);
  };
}

async function roundTrip(c: RelayedConnection, data: Uint8Array): Promise<Uint8Array> {
  const s = await c.openStream();
  const reading = readAll(s.readable);
  reading.catch(() => {});
  const w = s.writable.getWriter();
  for (let off = 0; off < data.length; off += 60_000)
    await w.write(data.subarray(off, off + 60_000));
  await w.close();
  return reading;
}

describe('relay circuits over real QUIC on loopback', () => {
  const { start, triangle, forget } = relayNodes(afterEach);

  test('RPC runs unchanged on a relayed connection; both ends proved their NodeIds end to end', async () => {
    const { a, b, r, ar } = await triangle();
    const c = await a.relay.dial(ar, b.transport.nodeId);
    expect(c.path).toBe('relayed');
    expect(identity.nodeIdEquals(c.relay, r.transport.nodeId)).toBe(true);
    a.manager.adoptDialled(c, 'relayed');
    const rtt = await a.manager.ping(b.transport.nodeId);
    expect(rtt).toBeGreaterThanOrEqual(0);
    // B adopted the inbound side, knows A by the handshake, and can call back.
    await sleep(20);
    expect(b.inbound).toHaveLength(1);
    expect(identity.nodeIdEquals(b.inbound[0].remoteNodeId, a.transport.nodeId)).toBe(true);
    await b.manager.ping(a.transport.nodeId);
    expect(r.relay.status().circuits).toHaveLength(1);
    const audit = a.relay.status();
    expect(audit.refused).toBe(0);
    await c.close();
    await sleep(100);
    expect(b.inbound[0].closed).toBe(true);
    expect(r.relay.status().circuits).toHaveLength(0);
  });

  test('bytes cross intact both ways, on many concurrent streams', async () => {
    const { a, b, ar } = await triangle({ b: { adoptInbound: false } });
    echo(b);
    const c = await a.relay.dial(ar, b.transport.nodeId);
    const datas = Array.from({ length: 12 }, (_, i) => pattern(50_000 + i * 37_000, i + 1));
    const got = await Promise.all(datas.map((d) => roundTrip(c, d)));
    got.forEach((g, i) => expect(Buffer.from(g).equals(Buffer.from(datas[i]))).toBe(true));
    const big = pattern(8 * 2 ** 20, 99);
    expect(Buffer.from(await roundTrip(c, big)).equals(Buffer.from(big))).toBe(true);
    await c.close();
  });

  test('a relay with no connection to the target refuses with ErrorRelayTargetUnreachable', async () => {
    const r = await start();
    const a = await start();
    const b = await start();
    const ar = await link(a, r);
    await expect(a.relay.dial(ar, b.transport.nodeId)).rejects.toBeInstanceOf(
      errors.ErrorRelayTargetUnreachable,
    );
    expect(r.relay.status().refused).toBe(1);
  });

  test('a node that does not relay refuses; malformed requests get a typed refusal', async () => {
    const { a, b, ar } = await triangle({ r: { config: { serve: false } } });
    await expect(a.relay.dial(ar, b.transport.nodeId)).rejects.toThrow(/does not relay/);
    const { a: a2, ar: ar2 } = await triangle();
    for (const header of [
      {},
      { target: 42 },
      { target: 'not-a-node-id' },
      { target: 'x'.repeat(5000) },
    ]) {
      const p = ar2.rpc.raw('relayConnect', header as any);
      await expect(p).rejects.toThrow(/ErrorRelayRequestInvalid/);
    }
    // A circuit to oneself is refused too.
    await expect(a2.relay.dial(ar2, a2.transport.nodeId)).rejects.toBeInstanceOf(
      errors.ErrorRelayRefused,
    );
  });

  test('quotas: circuits per peer, bytes per circuit (cut with a typed error), and the rate holds', async () => {
    const { a, b, r, ar } = await triangle({
      r: {
        config: {
          quotas: {
            maxCircuitsPerPeer: 1,
            maxCircuitBytes: 2 * 2 ** 20,
            maxCircuitRate: 4 * 2 ** 20,
          } as any,
        },
      },
      b: { adoptInbound: false },
    });
    echo(b);
    const c = await a.relay.dial(ar, b.transport.nodeId);
    await expect(a.relay.dial(ar, b.transport.nodeId)).rejects.toThrow(/already holds 1 circuits/);
    // 1 MiB out and back (2 MiB) fits the quota; at 4 MiB/s per direction it takes a while.
    const t0 = performance.now();
    const small = pattern(2 ** 20 - 100_000);
    expect(Buffer.from(await roundTrip(c, small)).equals(Buffer.from(small))).toBe(true);
    expect(performance.now() - t0).toBeGreaterThan(0);
    // The next megabytes pass the circuit's byte quota: the circuit is cut, the connection says why.
    const closed = new Promise<Error | undefined>((res) => c.onClose(res));
    await expect(roundTrip(c, pattern(2 * 2 ** 20))).rejects.toBeDefined();
    const reason = await closed;
    expect(reason).toBeInstanceOf(baseErrors.ErrorConnectionClosed);
    await sleep(50);
    expect(r.relay.status().circuits).toHaveLength(0);
  });

  test('a tampering relay (flips one byte) is caught: ErrorRelayTampered, no altered byte delivered', async () => {
    class FlippingRelay extends RelayService {
      protected seen = 0;
      protected relayChunk(chunk: Uint8Array, direction: 'a-b' | 'b-a') {
        this.seen += chunk.length;
        if (direction === 'a-b' && this.seen > 200_000 && this.seen - chunk.length <= 200_000) {
          const out = new Uint8Array(chunk);
          out[out.length >> 1] ^= 0x01;
          return out;
        }
        return chunk;
      }
    }
    const { a, b, ar } = await triangle({
      r: { Service: FlippingRelay },
      b: { adoptInbound: false },
    });
    const received: Array<Uint8Array> = [];
    const bClosed = new Promise<Error | undefined>((res) => {
      const wire = (c: RelayedConnection) => {
        c.onClose(res);
        c.onStream(async (s) => {
          try {
            for await (const chunk of s.readable as any) received.push(chunk);
          } catch {
            // the stream fails with the connection
          }
        });
      };
      const push = b.inbound.push.bind(b.inbound);
      b.inbound.push = (...cs: Array<RelayedConnection>) => (cs.forEach(wire), push(...cs));
    });
    const c = await a.relay.dial(ar, b.transport.nodeId);
    const data = pattern(1_000_000, 5);
    const s = await c.openStream();
    const w = s.writable.getWriter();
    await w.write(data).catch(() => {});
    await w.close().catch(() => {});
    const reason = await bClosed;
    expect(reason).toBeInstanceOf(errors.ErrorRelayTampered);
    // What B got is a prefix of what A sent: nothing altered.
    const got = Buffer.concat(received);
    expect(got.length).toBeLessThan(data.length);
    expect(got.equals(Buffer.from(data.subarray(0, got.length)))).toBe(true);
  });

  test('a dropping relay (loses one chunk) is caught the same way', async () => {
    class DroppingRelay extends RelayService {
      protected n = 0;
      protected relayChunk(chunk: Uint8Array, direction: 'a-b' | 'b-a') {
        if (direction === 'a-b' && ++this.n === 6) return undefined;
        return chunk;
      }
    }
    const { a, b, ar } = await triangle({
      r: { Service: DroppingRelay },
      b: { adoptInbound: false },
    });
    echo(b);
    const bClosed = new Promise<Error | undefined>((res) => {
      const push = b.inbound.push.bind(b.inbound);
      b.inbound.push = (...cs: Array<RelayedConnection>) => (
        cs.forEach((c) => c.onClose(res)),
        push(...cs)
      );
    });
    const c = await a.relay.dial(ar, b.transport.nodeId);
    const data = pattern(2_000_000, 6);
    await expect(roundTrip(c, data)).rejects.toBeDefined();
    expect(await bClosed).toBeInstanceOf(errors.ErrorRelayTampered);
  });

  test('a relay that routes to the wrong node is caught by the end-to-end handshake', async () => {
    const wrong: { id?: Uint8Array } = {};
    class MisroutingRelay extends RelayService {
      protected handleConnect(params: unknown, fromA: ReadableStream<Uint8Array>, meta: any) {
        return super.handleConnect({ target: identity.encodeNodeId(wrong.id as any) }, fromA, meta);
      }
    }
    const { a, b, r, ar } = await triangle({ r: { Service: MisroutingRelay } });
    const c = await start();
    await link(c, r);
    wrong.id = c.transport.nodeId;
    await expect(a.relay.dial(ar, b.transport.nodeId)).rejects.toBeInstanceOf(
      baseErrors.ErrorConnectionPeerRejected,
    );
  });

  test('the relay dies mid-transfer: the transfer fails with a typed error, it never hangs', async () => {
    const { a, b, r, ar } = await triangle({ b: { adoptInbound: false } });
    echo(b);
    const c = await a.relay.dial(ar, b.transport.nodeId);
    const closed = new Promise<Error | undefined>((res) => c.onClose(res));
    // Settled either way at once: a rejection while the relay stops is not left unhandled.
    const transfer = roundTrip(c, pattern(64 * 2 ** 20, 7)).then(
      () => undefined,
      (e: Error) => e,
    );
    await sleep(150);
    await r.stop();
    forget(r);
    expect(await transfer).toBeInstanceOf(baseErrors.ErrorConnectionClosed);
    const reason = await closed;
    expect(reason).toBeInstanceOf(baseErrors.ErrorConnectionClosed);
  }, 30_000);
});
