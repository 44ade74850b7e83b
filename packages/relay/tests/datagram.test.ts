import type { NodeConnection } from '@node-network/transport';
import { describe, test, expect, afterEach } from '@jest/globals';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { isRelayed } from '@node-network/transport';
import * as errors from '../src/errors.js';
import { relayNodes, link, pattern, readAll, sleep } from './utils.js';

/** Sends `data` on an `echoRaw` stream of `nc` and reads it all back. */
async function echoed(nc: NodeConnection, data: Uint8Array): Promise<Uint8Array> {
  const s = await nc.rpc.raw('echoRaw', {}, { timer: 60_000 });
  const reading = readAll(s.readable);
  reading.catch(() => {});
  const w = s.writable.getWriter();
  for (let off = 0; off < data.length; off += 64 * 1024) {
    await w.write(data.subarray(off, off + 64 * 1024));
  }
  await w.close();
  return reading;
}

describe('datagram circuits over real QUIC on loopback: one end-to-end QUIC connection, the relay forwards packets', () => {
  const { start, triangle, forget } = relayNodes(afterEach);

  test('RPC both ways on the relayed QUIC connection; both ends see it as relayed; the relay counts the bytes', async () => {
    const { a, b, r, ar } = await triangle();
    const c = await a.relay.dialDatagram(ar, b.transport.nodeId, { timer: 5_000 });
    expect(c.path).toBe('relayed');
    expect(c.circuit).toBe('datagram');
    expect(identity.nodeIdEquals(c.relay, r.transport.nodeId)).toBe(true);
    expect(identity.nodeIdEquals(c.remoteNodeId, b.transport.nodeId)).toBe(true);
    // Addressed to the relay's circuit port, not to B and not to the relay's QUIC port.
    expect(c.remoteAddress.host).toBe('127.0.0.1');
    expect(c.remoteAddress.port).not.toBe(r.transport.localAddresses[0].port);
    expect(c.remoteAddress.port).not.toBe(b.transport.localAddresses[0].port);
    a.manager.adoptDialled(c, 'relayed');
    await a.manager.ping(b.transport.nodeId);
    // B adopted the inbound QUIC connection as relayed (it bound for it), and calls back on it.
    await sleep(20);
    const atB = b.manager.getConnection(a.transport.nodeId);
    expect(atB).toBeDefined();
    expect(isRelayed(atB!.connection)).toBe(true);
    expect(identity.nodeIdEquals((atB!.connection as any).relay, r.transport.nodeId)).toBe(true);
    await b.manager.ping(a.transport.nodeId);
    const circuits = r.relay.status().circuits;
    expect(circuits).toHaveLength(1);
    expect(circuits[0].mode).toBe('datagram');
    expect(r.relay.datagram.size).toBe(1);
    await c.close();
  });

  test('8 MiB and 12 concurrent streams cross intact both ways; the relay shows the bytes while the circuit runs', async () => {
    const { a, b, r, ar } = await triangle();
    const c = await a.relay.dialDatagram(ar, b.transport.nodeId, { timer: 5_000 });
    const nc = a.manager.adoptDialled(c, 'relayed');
    const datas = Array.from({ length: 12 }, (_, i) => pattern(50_000 + i * 37_000, i + 1));
    const got = await Promise.all(datas.map((d) => echoed(nc, d)));
    got.forEach((g, i) => expect(Buffer.from(g).equals(Buffer.from(datas[i]))).toBe(true));
    const big = pattern(8 * 2 ** 20, 99);
    expect(Buffer.from(await echoed(nc, big)).equals(Buffer.from(big))).toBe(true);
    // Open still: 8 MiB each way, plus the streams and QUIC's own overhead.
    const [live] = r.relay.status().circuits;
    expect(live.mode).toBe('datagram');
    expect(live.bytes).toBeGreaterThan(16 * 2 ** 20);
  }, 60_000);

  test('refusals are typed: no datagram service, no connection to the target, a target that accepts none, malformed requests', async () => {
    const r = await start();
    const a = await start();
    const b = await start();
    const ar = await link(a, r);
    await expect(
      a.relay.dialDatagram(ar, b.transport.nodeId, { timer: 5_000 }),
    ).rejects.toBeInstanceOf(errors.ErrorRelayTargetUnreachable);
    const off = await start({ config: { datagram: false } });
    const aOff = await link(a, off);
    await link(b, off);
    await expect(
      a.relay.dialDatagram(aOff, b.transport.nodeId, { timer: 5_000 }),
    ).rejects.toBeInstanceOf(errors.ErrorRelayDatagramUnavailable);
    // A relay behind NAT refuses before binding anything, saying why (its source then falls back to a
    // stream circuit at once instead of waiting out a binding that cannot arrive).
    const natted = await start({ portsUnreachable: () => 'it is behind NAT (symmetric)' });
    const aNat = await link(a, natted);
    await link(b, natted);
    await expect(a.relay.dialDatagram(aNat, b.transport.nodeId, { timer: 5_000 })).rejects.toThrow(
      /cannot be reached over ipv4: it is behind NAT \(symmetric\)/,
    );
    expect(natted.relay.status()).toMatchObject({ circuits: [], relayed: 0, refused: 1 });
    await expect(
      a.relay.dialDatagram(aNat, b.transport.nodeId, { timer: 5_000 }),
    ).rejects.toBeInstanceOf(errors.ErrorRelayDatagramUnavailable);
    const shy = await start({ config: { accept: false } });
    await link(shy, r);
    await expect(
      a.relay.dialDatagram(ar, shy.transport.nodeId, { timer: 5_000 }),
    ).rejects.toBeInstanceOf(errors.ErrorRelayTargetUnreachable);
    for (const params of [
      {},
      { target: 5 },
      { target: 'x'.repeat(500) },
      { target: 'not-a-node-id' },
    ]) {
      await expect(
        ar.rpc.unary('relayAllocate', params as any, { timer: 5_000 }),
      ).rejects.toMatchObject({
        data: { name: 'ErrorRelayRequestInvalid' },
      });
    }
    const atB = (await link(r, b)) as NodeConnection;
    for (const params of [
      {},
      {
        source: identity.encodeNodeId(a.transport.nodeId),
        port: 0,
        token: 'AAAAAAAAAAAAAAAAAAAAAA',
      },
      { source: identity.encodeNodeId(a.transport.nodeId), port: 4000, token: 'short' },
      {
        source: identity.encodeNodeId(a.transport.nodeId),
        port: 1.5,
        token: 'AAAAAAAAAAAAAAAAAAAAAA',
      },
      { source: 'nope', port: 4000, token: 'AAAAAAAAAAAAAAAAAAAAAA' },
    ]) {
      await expect(
        atB.rpc.unary('relayBind', params as any, { timer: 5_000 }),
      ).rejects.toMatchObject({
        data: { name: 'ErrorRelayRequestInvalid' },
      });
    }
    // Nothing was left behind at the relay.
    expect(r.relay.status().circuits).toHaveLength(0);
    expect(r.relay.datagram.size).toBe(0);
  }, 60_000);

  test('a circuit its source never binds is closed after five bind timeouts, freeing its quota', async () => {
    const { a, b, r, ar } = await triangle({ r: { config: { datagramBindTimeoutTime: 400 } } });
    const answer = await ar.rpc.unary('relayAllocate', {
      target: identity.encodeNodeId(b.transport.nodeId),
    });
    expect(answer).toMatchObject({ port: expect.any(Number), token: expect.any(String) });
    expect(r.relay.datagram.size).toBe(1);
    expect(r.relay.status().circuits).toHaveLength(1);
    await sleep(2_500);
    expect(r.relay.datagram.size).toBe(0);
    expect(r.relay.status().circuits).toHaveLength(0);
    // A real dial after it works.
    const c = await a.relay.dialDatagram(ar, b.transport.nodeId, { timer: 5_000 });
    a.manager.adoptDialled(c, 'relayed');
    await a.manager.ping(b.transport.nodeId);
  });

  test('a relay that flips bytes or drops datagrams delivers nothing altered: QUIC discards them and resends', async () => {
    let n = 0;
    const { a, b, ar } = await triangle({
      r: {
        alterDatagram: (d, from) => {
          n++;
          if (from === 'a' && n % 50 === 0) return undefined; // drop one in 50
          if (from === 'a' && n % 50 === 25) {
            const out = new Uint8Array(d);
            out[out.length - 3] ^= 0x01; // flip a bit in one in 50
            return out;
          }
          return d;
        },
      },
    });
    const c = await a.relay.dialDatagram(ar, b.transport.nodeId, { timer: 5_000 });
    const nc = a.manager.adoptDialled(c, 'relayed');
    const data = pattern(2 * 2 ** 20, 6);
    expect(Buffer.from(await echoed(nc, data)).equals(Buffer.from(data))).toBe(true);
    expect(n).toBeGreaterThan(100);
  }, 60_000);

  test('a relay that alters every datagram: the dial fails with a typed error, nothing is delivered', async () => {
    const { a, b, ar } = await triangle({
      r: {
        alterDatagram: (d) => {
          const out = new Uint8Array(d);
          out[out.length - 1] ^= 0xff;
          return out;
        },
      },
    });
    const e = await a.relay.dialDatagram(ar, b.transport.nodeId, { timer: 3_000 }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(e).toBeInstanceOf(baseErrors.ErrorNodeNetwork);
    expect(b.manager.getConnection(a.transport.nodeId)).toBeUndefined();
  }, 30_000);

  test('a stranger cannot use the circuit: datagrams from an address that did not bind are dropped', async () => {
    const { a, b, r, ar } = await triangle();
    const c = await a.relay.dialDatagram(ar, b.transport.nodeId, { timer: 5_000 });
    const stranger = await start();
    // The stranger sends QUIC-looking garbage and a wrong binding at A's circuit port.
    await stranger.transport.sendPunch!(c.remoteAddress, new Uint8Array([0x40, 1, 2, 3]));
    await stranger.transport.sendPunch!(c.remoteAddress, new Uint8Array(18));
    await sleep(100);
    const nc = a.manager.adoptDialled(c, 'relayed');
    await a.manager.ping(b.transport.nodeId);
    expect(nc.connection.closed).toBe(false);
    const before = r.relay.status().circuits[0];
    expect(before.mode).toBe('datagram');
  });

  test('the relay stops mid-transfer: both ends close the relayed connection at once with a typed error, no hang', async () => {
    const { a, b, r, ar } = await triangle();
    const c = await a.relay.dialDatagram(ar, b.transport.nodeId, { timer: 5_000 });
    const nc = a.manager.adoptDialled(c, 'relayed');
    const closed = new Promise<Error | undefined>((res) => c.onClose(res));
    const transfer = echoed(nc, pattern(256 * 2 ** 20, 7)).then(
      () => undefined,
      (e: Error) => e,
    );
    await sleep(300);
    const t0 = Date.now();
    await r.stop();
    forget(r);
    // Our connection to the relay closed: the relayed one closes with it, at once (not after QUIC's idle timeout).
    expect(await closed).toBeInstanceOf(errors.ErrorRelayCircuitBroken);
    const e = await transfer;
    expect(e?.name).toMatch(/^Error.+/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await sleep(50);
    expect(b.manager.getConnection(a.transport.nodeId)).toBeUndefined();
  }, 40_000);
});
