// @chainsafe/libp2p-quic (quinn through napi) through its documented libp2p API, for the quic
// suite's side-by-side rows: a listener in the receiver child, one dialling libp2p node per
// connection in the sender. libp2p 3 needs Promise.withResolvers (Node 22); Node 20 gets a shim.
import fs from 'node:fs';

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const PROTOCOL = '/node-network-bench/1.0.0';
const { createLibp2p } = await import('libp2p');
const { quic } = await import('@chainsafe/libp2p-quic');
const { multiaddr } = await import('@multiformats/multiaddr');

function versions() {
  // Their `exports` hide package.json: read it where the workspace root installed them.
  const root = new URL('../../../node_modules/', import.meta.url);
  const v = (name) =>
    JSON.parse(fs.readFileSync(new URL(`${name}/package.json`, root), 'utf8')).version;
  try {
    return { libp2p: v('libp2p'), libp2pQuic: v('@chainsafe/libp2p-quic') };
  } catch {
    return {};
  }
}

/** Receiver: counts each inbound stream's bytes and reports them to the parent (`streamBytes`). */
async function libp2pReceiver(send) {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] },
    transports: [quic()],
    // Its defaults accept 5 inbound connections per second per host: the 8-connection row dials 8 at once.
    connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 100 },
  });
  await node.handle(
    PROTOCOL,
    async (stream) => {
      let got = 0;
      try {
        for await (const chunk of stream) got += chunk.byteLength;
      } finally {
        send({ streamBytes: got });
        await stream.close().catch(() => {});
      }
    },
    { maxInboundStreams: 256 },
  );
  send({ port: 0, addr: node.getMultiaddrs()[0].toString() });
}

/** Sender: `connections` libp2p nodes dial the listener; each opens `streams` streams. */
async function libp2pSender(addr, { connections, streams, chunk }) {
  const nodes = [];
  const target = multiaddr(addr);
  for (let i = 0; i < connections; i++) {
    const node = await createLibp2p({ transports: [quic()] });
    nodes.push(node);
    await node.dial(target);
  }
  let redials = 0;
  /** Writes `bytes` (or until `deadline`) on one new stream, honouring back-pressure. */
  const sendOne = async (node, bytes, deadline, now) => {
    // libp2p may close a connection that carried no stream yet; `dial` reuses an open one or redials.
    const before = node.getConnections().length;
    const conn = await node.dial(target);
    if (before === 0) redials++;
    const s = await conn.newStream(PROTOCOL);
    for (let sent = 0; sent < bytes && now() < deadline; sent += chunk.byteLength) {
      if (!s.send(chunk)) await s.onDrain();
    }
    await s.close();
  };
  return {
    sendAll: (bytesPerStream, deadline, now) =>
      Promise.all(
        nodes.flatMap((node) =>
          Array.from({ length: streams }, () => sendOne(node, bytesPerStream, deadline, now)),
        ),
      ),
    redials: () => redials,
    close: async () => {
      for (const n of nodes) await n.stop().catch(() => {});
    },
  };
}

export { libp2pReceiver, libp2pSender, versions };
