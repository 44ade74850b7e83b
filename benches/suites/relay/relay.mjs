// Relayed throughput on loopback, in one run: A (this process) sends BENCH_RELAY_BYTES (256 MB) on one
// stream to B, first directly over our QUIC transport, then through relay R by its datagram circuit (one
// QUIC connection A-B end to end, R forwards packets between two UDP ports: the default), then by its
// stream circuit (end-to-end TLS 1.3 and the mux inside a circuit of raw RPC streams: the fallback). B and
// R are forked children, so A, R and B are three processes on this 2-core machine. The ratio relayed /
// direct is the figure (target 0.7). Writes benches/results/relay.json.
import { fileURLToPath } from 'node:url';
import { TransformStream } from 'node:stream/web';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import {
  QUICTransport,
  NodeConnectionManager,
  RealClock,
  RawHandler,
  UDPDatagramPort,
  addresses,
} from '@node-network/transport';
import { RelayService, tunnelIdentityOf } from '@node-network/relay';
import { HttpRelayServer, connectHttpRelay } from '@node-network/http-relay';
import { MB, now, startChild, writeResults } from '../../lib.mjs';
import { countAndAnswer } from '../quic/quic.mjs';

const self = fileURLToPath(import.meta.url);
const CHUNK = 64 * 1024;
const BYTES = Number(process.env.BENCH_RELAY_BYTES ?? 256e6);
const logger = new Logger('bench', LogLevel.ERROR);

async function node({ onInbound } = {}) {
  const keyPair = identity.generateKeyPair();
  const transport = new QUICTransport({ keyPair, network: 'testnet', logger });
  await transport.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
  const manager = new NodeConnectionManager({ transport, logger });
  const relay = new RelayService({
    manager,
    clock: new RealClock(),
    tunnelIdentity: tunnelIdentityOf({
      privateKey: keyPair.privateKey,
      certificateChain: transport.certificateChainDER,
      network: 'testnet',
    }),
    onInbound: onInbound ?? (() => {}),
    bindPort: ({ host, port }) =>
      UDPDatagramPort.bind({
        host,
        port,
        recvBufferSize: 4 * 2 ** 20,
        sendBufferSize: 4 * 2 ** 20,
      }),
    logger,
  });
  manager.inboundAdapter = (c) => relay.datagram.matchInbound(c);
  await manager.start({ handlers: { ...relay.handlers(), benchCount: new CountHandler({}) } });
  const tunnelIdentity = tunnelIdentityOf({
    privateKey: keyPair.privateKey,
    certificateChain: transport.certificateChainDER,
    network: 'testnet',
  });
  return {
    transport,
    manager,
    relay,
    tunnelIdentity,
    info: {
      nodeId: identity.encodeNodeId(transport.nodeId),
      port: transport.localAddresses[0].port,
    },
  };
}

/** `benchCount` (a raw RPC stream): reads all, answers the count (a datagram circuit's QUIC connection is RPC-served). */
class CountHandler extends RawHandler {
  handle = async (input) => {
    const out = new TransformStream();
    void countAndAnswer({ readable: input[1], writable: out.writable }).catch(() => {});
    return [{}, out.readable];
  };
}

async function sendAndCount(stream, bytes) {
  const chunk = new Uint8Array(CHUNK).fill(3);
  const w = stream.writable.getWriter();
  for (let sent = 0; sent < bytes; sent += CHUNK) await w.write(chunk);
  await w.close();
  const r = stream.readable.getReader();
  let ack = Buffer.alloc(0);
  for (let x = await r.read(); !x.done; x = await r.read()) ack = Buffer.concat([ack, x.value]);
  return Number(ack.readBigUInt64BE(0));
}

async function child(role) {
  const send = (m) => process.send(m);
  const count = (c) => c.onStream((s) => void countAndAnswer(s).catch(() => {}));
  const n = await node({ onInbound: count });
  // Direct: a plain transport in the same process (the node's own serves RPC on its streams).
  const plain = new QUICTransport({
    keyPair: identity.generateKeyPair(),
    network: 'testnet',
    logger,
  });
  await plain.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
  plain.onConnection(count);
  let ws;
  if (role === 'relay') {
    // The HTTP relay endpoint: WebSocket on TCP.
    const server = new HttpRelayServer({
      localNodeId: n.transport.nodeId,
      tunnelIdentity: n.tunnelIdentity,
      clock: new RealClock(),
      onConnection: (c) => n.manager.adoptDialled(c, 'http-relay', 'inbound'),
      logger,
    });
    await server.start({ host: '127.0.0.1', port: 0 });
    ws = { port: server.port };
  }
  // A second node here reaches the relay over WebSocket only (as a UDP-blocked node does).
  const w = role === 'target' ? await node({ onInbound: count }) : undefined;
  let cpu = process.cpuUsage();
  process.on('message', async (m) => {
    if (m.cmd === 'exit') process.exit(0);
    if (m.cmd === 'begin') {
      cpu = process.cpuUsage();
      send({ begun: true });
    }
    if (m.cmd === 'end') {
      const d = process.cpuUsage(cpu);
      send({ cpu: (d.user + d.system) / 1e6 });
    }
    if (m.cmd === 'connect') {
      await n.manager.connect(identity.decodeNodeId(m.nodeId), [
        addresses.toAddress('127.0.0.1', m.port),
      ]);
      send({ connected: true });
    }
    if (m.cmd === 'connect-ws') {
      const c = await connectHttpRelay({
        url: `ws://127.0.0.1:${m.wsPort}`,
        expected: identity.decodeNodeId(m.nodeId),
        localNodeId: w.transport.nodeId,
        tunnelIdentity: w.tunnelIdentity,
        clock: new RealClock(),
        proxy: null,
      });
      w.manager.adoptDialled(c, 'http-relay');
      send({ wsConnected: true, nodeId: w.info.nodeId });
    }
  });
  send({
    ...n.info,
    role,
    ws,
    direct: { nodeId: identity.encodeNodeId(plain.nodeId), port: plain.localAddresses[0].port },
  });
}

/** Sends BYTES on `stream`; MB/s, and CPU seconds per MB of each process (A, R, B). */
async function timed(stream, children) {
  for (const c of children) {
    c.send({ cmd: 'begin' });
    await c.next((m) => m.begun);
  }
  const cpu = process.cpuUsage();
  const t0 = now();
  const received = await sendAndCount(stream, BYTES);
  const ms = now() - t0;
  const d = process.cpuUsage(cpu);
  const cpuS = { a: (d.user + d.system) / 1e6 };
  for (const [name, c] of Object.entries({ r: children[0], b: children[1] })) {
    c.send({ cmd: 'end' });
    cpuS[name] = (await c.next((m) => m.cpu != null)).cpu;
  }
  const mb = received / MB;
  const cpuPerMB = Object.fromEntries(
    Object.entries(cpuS).map(([k, v]) => [k, +((v / mb) * 1000).toFixed(2)]),
  );
  const total = Object.values(cpuS).reduce((x, y) => x + y, 0);
  return {
    bytes: received,
    ms: Math.round(ms),
    mbPerS: +(mb / (ms / 1000)).toFixed(1),
    cpuMsPerMB: cpuPerMB,
    cpuMsPerMBTotal: +((total / mb) * 1000).toFixed(2),
    coresBusy: +(total / (ms / 1000)).toFixed(2),
  };
}

export async function run() {
  const r = startChild(self, ['child', 'relay']);
  const b = startChild(self, ['child', 'target']);
  const a = await node();
  try {
    const ri = await r.next((m) => m.port != null);
    const bi = await b.next((m) => m.port != null);
    b.send({ cmd: 'connect', ...ri });
    await b.next((m) => m.connected);
    // Direct: A dials B.
    const direct = await a.transport.dial(
      identity.decodeNodeId(bi.direct.nodeId),
      addresses.toAddress('127.0.0.1', bi.direct.port),
    );
    const directResult = await timed(await direct.openStream(), [r, b]);
    await direct.close();
    const toR = await a.manager.connect(identity.decodeNodeId(ri.nodeId), [
      addresses.toAddress('127.0.0.1', ri.port),
    ]);
    // Relayed by the datagram circuit: A -> R's UDP port -> B, one QUIC connection end to end.
    const viaDatagrams = await a.relay.dialDatagram(toR, identity.decodeNodeId(bi.nodeId));
    const dnc = a.manager.adoptDialled(viaDatagrams, 'relayed');
    const datagramResult = await timed(await dnc.rpc.raw('benchCount', {}, { timer: 600_000 }), [
      r,
      b,
    ]);
    await viaDatagrams.close();
    // Relayed by the stream circuit: A -> R -> B, TLS over two QUIC streams.
    const relayed = await a.relay.dial(toR, identity.decodeNodeId(bi.nodeId));
    const relayedResult = await timed(await relayed.openStream(), [r, b]);
    await relayed.close();
    // HTTP relay: A -> R over QUIC, R -> W over WebSocket on TCP.
    b.send({ cmd: 'connect-ws', nodeId: ri.nodeId, wsPort: ri.ws.port });
    const wi = await b.next((m) => m.wsConnected);
    const overHttp = await a.relay.dial(toR, identity.decodeNodeId(wi.nodeId));
    const httpResult = await timed(await overHttp.openStream(), [r, b]);
    await overHttp.close();
    const ratio = +(datagramResult.mbPerS / directResult.mbPerS).toFixed(2);
    const streamRatio = +(relayedResult.mbPerS / directResult.mbPerS).toFixed(2);
    const httpRatio = +(httpResult.mbPerS / relayedResult.mbPerS).toFixed(2);
    console.log(
      `HTTP relay (WebSocket leg) ${httpResult.mbPerS} MB/s: ${httpRatio} of the QUIC relay in this run`,
    );
    console.log(
      `direct ${directResult.mbPerS} MB/s, relayed (datagram circuit) ${datagramResult.mbPerS} MB/s: ratio ${ratio}; relayed (stream circuit) ${relayedResult.mbPerS} MB/s: ratio ${streamRatio} (${BYTES / MB} MB, one stream)`,
    );
    console.log(
      `CPU ms/MB (A+R+B): direct ${directResult.cpuMsPerMBTotal}, datagram circuit ${datagramResult.cpuMsPerMBTotal} (R ${datagramResult.cpuMsPerMB.r}), stream circuit ${relayedResult.cpuMsPerMBTotal}; cores busy: direct ${directResult.coresBusy}, datagram ${datagramResult.coresBusy}, stream ${relayedResult.coresBusy}`,
    );
    console.log(
      `wrote ${writeResults('relay', {
        bytes: BYTES,
        direct: directResult,
        datagramRelayed: datagramResult,
        ratio,
        relayed: relayedResult,
        streamRatio,
        httpRelayed: httpResult,
        httpRatio,
      })}`,
    );
  } finally {
    await a.manager.stop();
    await a.transport.stop();
    r.send({ cmd: 'exit' });
    b.send({ cmd: 'exit' });
  }
}

if (process.argv[2] === 'child' && process.argv[1] === self) {
  await child(process.argv[3]);
}
