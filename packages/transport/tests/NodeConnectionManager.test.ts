import { describe, test, expect, afterEach } from '@jest/globals';
import { errors as baseErrors } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { toAddress, formatAddress } from '../src/addresses.js';
import { EventAudit } from '../src/events.js';
import type { AuditRecord } from '../src/events.js';
import { startNode, sleep, engines } from './utils.js';
import type { TestNode } from './utils.js';

describe.each(engines)('NodeConnectionManager (%s engine)', (engine) => {
  const nodes: Array<TestNode> = [];
  const start = async (opts: Parameters<typeof startNode>[0] = {}) => {
    const n = await startNode({ ...opts, engine });
    nodes.push(n);
    return n;
  };
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  for (const host of ['127.0.0.1', '::1']) {
    test(`two nodes connect and ping on ${host}`, async () => {
      const a = await start({ host });
      const b = await start({ host });
      const nc = await a.manager.connect(b.transport.nodeId, b.transport.localAddresses);
      expect(identity.nodeIdEquals(nc.connection.remoteNodeId, b.transport.nodeId)).toBe(true);
      const rtt = await a.manager.ping(b.transport.nodeId);
      expect(rtt).toBeGreaterThanOrEqual(0);
      // The peer can call us back over the same connection.
      await sleep(50);
      expect(b.manager.getConnection(a.transport.nodeId)).toBeDefined();
      await b.manager.ping(a.transport.nodeId);
      expect(b.manager.listConnections()).toHaveLength(1);
    });
  }

  test('observedAddress returns the address the peer saw us at', async () => {
    const a = await start({ hosts: ['127.0.0.1', '::1'] });
    const b = await start({ hosts: ['127.0.0.1', '::1'] });
    await a.manager.connect(b.transport.nodeId, [b.transport.localAddresses[0]]);
    const seen = await a.manager.observedAddress(b.transport.nodeId);
    expect(formatAddress(seen)).toBe(formatAddress(a.transport.localAddresses[0]));
  });

  test('a live connection is reused and concurrent connects share one dial', async () => {
    const a = await start();
    const b = await start();
    const [x, y, z] = await Promise.all([
      a.manager.connect(b.transport.nodeId, b.transport.localAddresses),
      a.manager.connect(b.transport.nodeId, b.transport.localAddresses),
      a.manager.connect(b.transport.nodeId, b.transport.localAddresses),
    ]);
    expect(x.connection).toBe(y.connection);
    expect(y.connection).toBe(z.connection);
    const again = await a.manager.connect(b.transport.nodeId, b.transport.localAddresses);
    expect(again.connection).toBe(x.connection);
  });

  test('simultaneous open from both sides leaves one shared connection', async () => {
    for (let round = 0; round < 3; round++) {
      const a = await start();
      const b = await start();
      await Promise.all([
        a.manager.connect(b.transport.nodeId, b.transport.localAddresses),
        b.manager.connect(a.transport.nodeId, a.transport.localAddresses),
      ]);
      await sleep(300);
      const ac = a.manager.listConnections();
      const bc = b.manager.listConnections();
      expect(ac).toHaveLength(1);
      expect(bc).toHaveLength(1);
      // The same QUIC connection seen from both ends.
      expect(ac[0].connection.localAddress.port).toBe(bc[0].connection.remoteAddress.port);
      expect(ac[0].connection.initiator).not.toBe(bc[0].connection.initiator);
      // The survivor was dialled by the lower NodeId.
      const aLower = identity.compareNodeIds(a.transport.nodeId, b.transport.nodeId) < 0;
      expect(ac[0].connection.initiator).toBe(aLower ? 'local' : 'remote');
      await a.manager.ping(b.transport.nodeId);
      await b.manager.ping(a.transport.nodeId);
    }
  });

  test('a peer dialling two of our addresses at once keeps the one it chose, on both sides', async () => {
    // The happy-eyeballs race: the dialler keeps its first connection and closes the other,
    // while we may see the kept one first and the closed one second (or the other way round).
    for (const keepFirst of [true, false]) {
      const a = await start({ hosts: ['127.0.0.1', '::1'] });
      const b = await start({ hosts: ['127.0.0.1', '::1'] });
      const [v4, v6] = b.transport.localAddresses;
      const first = await a.transport.dial(b.transport.nodeId, v4, {});
      const second = await a.transport.dial(b.transport.nodeId, v6, {});
      await sleep(100);
      const [kept, lost] = keepFirst ? [first, second] : [second, first];
      a.manager.adoptDialled(kept, 'direct');
      await lost.close();
      await sleep(300);
      const bc = b.manager.listConnections();
      expect(bc).toHaveLength(1);
      expect(bc[0].connection.remoteAddress.port).toBe(kept.localAddress.port);
      expect(kept.closed).toBe(false);
      await a.manager.ping(b.transport.nodeId);
      await b.manager.ping(a.transport.nodeId);
    }
  });

  test('a peer that redials after losing its connection replaces the stale one', async () => {
    const a = await start();
    const b = await start();
    const first = await a.manager.connect(b.transport.nodeId, b.transport.localAddresses);
    const second = await a.transport.dial(b.transport.nodeId, b.transport.localAddresses[0], {});
    a.manager.adoptDialled(second, 'direct');
    await sleep(300);
    // Our own newer dial replaced our older one; the peer followed (the older closed).
    expect(first.connection.closed).toBe(true);
    const bc = b.manager.listConnections();
    expect(bc).toHaveLength(1);
    expect(bc[0].connection.remoteAddress.port).toBe(second.localAddress.port);
    await b.manager.ping(a.transport.nodeId);
  });

  test('200 concurrent pings over one connection', async () => {
    const a = await start();
    const b = await start();
    await a.manager.connect(b.transport.nodeId, b.transport.localAddresses);
    const rtts = await Promise.all(
      Array.from({ length: 200 }, () => a.manager.ping(b.transport.nodeId, { timer: 20_000 })),
    );
    expect(rtts).toHaveLength(200);
    expect(a.manager.listConnections()).toHaveLength(1);
  });

  test('happy eyeballs: a dead IPv6 address does not stop the IPv4 one', async () => {
    const a = await start({ hosts: ['127.0.0.1', '::1'] });
    const b = await start({ hosts: ['127.0.0.1', '::1'] });
    const audit: Array<AuditRecord> = [];
    a.manager.addEventListener(EventAudit.name, (e) => audit.push((e as EventAudit).detail));
    const dead6 = toAddress('::1', 9);
    const good4 = b.transport.localAddresses[0];
    const nc = await a.manager.connect(b.transport.nodeId, [good4, dead6], { timer: 5000 });
    expect(nc.connection.remoteAddress.family).toBe('ipv4');
    const attempts = audit.filter((r) => r.kind === 'dial-attempt').map((r) => r.address);
    // IPv6 is tried first, then IPv4 after the stagger.
    expect(attempts[0]).toBe(formatAddress(dead6));
    expect(attempts[1]).toBe(formatAddress(good4));
    const result = audit.find((r) => r.kind === 'dial-result');
    expect(result?.outcome).toBe('ok');
    expect(result?.address).toBe(formatAddress(good4));
  });

  test('all addresses dead: times out with a typed error and an audit record', async () => {
    const a = await start();
    const audit: Array<AuditRecord> = [];
    a.manager.addEventListener(EventAudit.name, (e) => audit.push((e as EventAudit).detail));
    const ghost = identity.nodeIdFromPublicKey(identity.generateKeyPair().publicKey);
    await expect(
      a.manager.connect(ghost, [toAddress('127.0.0.1', 9), toAddress('127.0.0.1', 7)], {
        timer: 600,
      }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorTimeout);
    const result = audit.find((r) => r.kind === 'dial-result');
    expect(result?.outcome).toBe('timeout');
    expect(audit.filter((r) => r.kind === 'dial-attempt')).toHaveLength(2);
  });

  test('connect can be cancelled', async () => {
    const a = await start();
    const ghost = identity.nodeIdFromPublicKey(identity.generateKeyPair().publicKey);
    const abort = new AbortController();
    const p = a.manager.connect(ghost, [toAddress('127.0.0.1', 9)], {
      signal: abort.signal,
      timer: 10_000,
    });
    setTimeout(() => abort.abort(), 100);
    await expect(p).rejects.toBeInstanceOf(baseErrors.ErrorCancelled);
  });

  test('no address, and our own NodeId, are typed errors', async () => {
    const a = await start();
    const ghost = identity.nodeIdFromPublicKey(identity.generateKeyPair().publicKey);
    await expect(a.manager.connect(ghost, [])).rejects.toBeInstanceOf(
      baseErrors.ErrorConnectionDial,
    );
    await expect(
      a.manager.connect(a.transport.nodeId, a.transport.localAddresses),
    ).rejects.toBeInstanceOf(baseErrors.ErrorConnectionDial);
  });

  test('an idle connection is closed after the idle timeout', async () => {
    const a = await start({ managerConfig: { connectionIdleTimeoutTime: 300 } });
    const b = await start();
    await a.manager.connect(b.transport.nodeId, b.transport.localAddresses);
    expect(a.manager.listConnections()).toHaveLength(1);
    await sleep(800);
    expect(a.manager.listConnections()).toHaveLength(0);
  });

  test('a closed peer is noticed and a reconnect works', async () => {
    const a = await start();
    const bKeys = identity.generateKeyPair();
    const b = await start({ keyPair: bKeys });
    await a.manager.connect(b.transport.nodeId, b.transport.localAddresses);
    const closed = new Promise<void>((r) =>
      a.manager.getConnection(b.transport.nodeId)!.connection.onClose(() => r()),
    );
    await b.stop();
    nodes.splice(nodes.indexOf(b), 1);
    await closed;
    expect(a.manager.getConnection(b.transport.nodeId)).toBeUndefined();
    const b2 = await start({ keyPair: bKeys });
    await a.manager.connect(b2.transport.nodeId, b2.transport.localAddresses);
    await a.manager.ping(b2.transport.nodeId);
  });
});
