import type { NodeId } from '@node-network/network-interface';
import { describe, test, expect } from '@jest/globals';
import { testConnectionCompliance } from '@node-network/network-interface/compliance';
import { errors as baseErrors } from '@node-network/network-interface';
import Network from '../src/Network.js';
import VirtualConnectionTransport from '../src/connections/VirtualConnectionTransport.js';
import { addSite } from '../src/presets.js';

function nodeId(n: number): NodeId {
  return new Uint8Array(32).fill(n) as NodeId;
}

async function makePair({
  loss = 0,
  jitter = 0,
  seed = 3,
}: { loss?: number; jitter?: number; seed?: number } = {}) {
  const network = new Network({ seed, latency: 10, jitter, loss });
  const stop = network.clock.autoRun();
  const a = network.addHost({ name: 'a', ipv4: '198.51.100.1', ipv6: '2001:db8::1' });
  const b = network.addHost({ name: 'b', ipv4: '198.51.100.2', ipv6: '2001:db8::2' });
  const dialer = new VirtualConnectionTransport({ network, host: a, nodeId: nodeId(1) });
  const listener = new VirtualConnectionTransport({ network, host: b, nodeId: nodeId(2) });
  await dialer.start();
  await listener.start({ port: 4000 });
  return {
    network,
    dialer,
    listener,
    listenerAddress: listener.localAddresses[0],
    deadAddress: { ...listener.localAddresses[0], host: '198.51.100.99' } as any,
    otherNodeId: nodeId(9),
    destroy: async () => {
      await dialer.stop();
      await listener.stop();
      stop();
    },
  };
}

testConnectionCompliance('VirtualConnectionTransport (netsim)', { createPair: () => makePair() });
testConnectionCompliance('VirtualConnectionTransport with 5% loss and jitter', {
  createPair: () => makePair({ loss: 0.05, jitter: 20 }),
});

describe('VirtualConnectionTransport', () => {
  test('a peer of another network is refused', async () => {
    const network = new Network({ seed: 1 });
    const stop = network.clock.autoRun();
    const a = network.addHost({ name: 'a', ipv4: '198.51.100.1' });
    const b = network.addHost({ name: 'b', ipv4: '198.51.100.2' });
    const t1 = new VirtualConnectionTransport({ network, host: a, nodeId: nodeId(1) });
    const t2 = new VirtualConnectionTransport({
      network,
      host: b,
      nodeId: nodeId(2),
      networkId: 'testnet',
    });
    await t1.start();
    await t2.start();
    await expect(t1.dial(nodeId(2), t2.localAddresses[0])).rejects.toBeInstanceOf(
      baseErrors.ErrorConnectionRejectedByPeer,
    );
    await t1.stop();
    await t2.stop();
    stop();
  });

  test('NAT filtering applies: a port-restricted node is reachable only after it sent first', async () => {
    const network = new Network({ seed: 2 });
    const stop = network.clock.autoRun();
    const pub = network.addHost({ name: 'pub', ipv4: '198.51.100.1' });
    const { host } = addSite(network, 'port-restricted', { index: 1 });
    const tp = new VirtualConnectionTransport({ network, host: pub, nodeId: nodeId(1) });
    const tn = new VirtualConnectionTransport({ network, host, nodeId: nodeId(2) });
    await tp.start();
    await tn.start();
    // The natted node dials out; the connection's remote address is its mapping.
    const inbound = new Promise<any>((resolve) => tp.onConnection(resolve));
    const out = await tn.dial(nodeId(1), tp.localAddresses[0]);
    const seen = await inbound;
    expect(seen.remoteAddress.host).toBe('203.0.113.2');
    // Another port of the public host cannot get in through that mapping.
    const other = new VirtualConnectionTransport({ network, host: pub, nodeId: nodeId(3) });
    await other.start();
    await expect(
      other.dial(nodeId(2), seen.remoteAddress, { timer: 2_000 }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorTimeout);
    await out.close();
    await Promise.all([tp.stop(), tn.stop(), other.stop()]);
    stop();
  });

  test('an idle connection through a NAT dies when the mapping expires without keepalives', async () => {
    const network = new Network({ seed: 4 });
    const stop = network.clock.autoRun();
    const pub = network.addHost({ name: 'pub', ipv4: '198.51.100.1' });
    const { host } = addSite(network, 'port-restricted', { index: 1 });
    const quiet = { keepAliveIntervalTime: 1e9 };
    const tp = new VirtualConnectionTransport({
      network,
      host: pub,
      nodeId: nodeId(1),
      config: { ...quiet, maxIdleTimeout: 120_000 },
    });
    const tn = new VirtualConnectionTransport({
      network,
      host,
      nodeId: nodeId(2),
      config: { ...quiet, maxIdleTimeout: 1e9 },
    });
    await tp.start();
    await tn.start();
    const inbound = new Promise<any>((resolve) => tp.onConnection(resolve));
    const out = await tn.dial(nodeId(1), tp.localAddresses[0]);
    const server = await inbound;
    // 45 s of silence: the 30 s mapping is gone, so the public side's stream cannot get through.
    await new Promise<void>((resolve) => network.clock.setTimer(45_000, resolve));
    let got = false;
    out.onStream(() => {
      got = true;
    });
    const s = await server.openStream();
    void s.writable.getWriter().write(new Uint8Array([1]));
    const closed = new Promise<Error | undefined>((resolve) => server.onClose(resolve));
    expect(await closed).toBeInstanceOf(baseErrors.ErrorConnectionIdleTimeout);
    expect(got).toBe(false);
    await Promise.all([tp.stop(), tn.stop()]);
    stop();
  });
});
