// Transport benchmark: connect time and bulk throughput of our QUIC
// transport, against raw node:dgram UDP and node:net TCP measured in the
// same run. Sender in this process, receiver in a forked child, so each side
// has a core. Writes benches/results/transport.json.
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { QUICTransport, addresses } from '@node-network/transport';
import { MB, now, median, startChild, writeResults } from '../../lib.mjs';

const self = fileURLToPath(import.meta.url);
const CHUNK = 64 * 1024;
const BULK_BYTES = Number(process.env.BENCH_BULK_BYTES ?? 256e6);
// Transfers stop at this deadline; the bytes actually sent are what counts, so
// a slow transport stays bounded in time.
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 300_000);
const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 50);
const logger = new Logger('bench', LogLevel.ERROR);

function transportFor(keyPair) {
  return new QUICTransport({
    keyPair,
    network: 'testnet',
    config: { maxIdleTimeout: 60_000, keepAliveIntervalTime: 5_000 },
    logger,
  });
}

// ------------------------------------------------------------------ child
async function child(kind) {
  const send = (m) => process.send(m);
  let cpu = process.cpuUsage();
  const cpuSnap = () => {
    const d = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    return (d.user + d.system) / 1e6;
  };
  process.on('message', (m) => {
    if (m.cmd === 'exit') process.exit(0);
  });
  if (kind === 'udp') {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 2 ** 20 });
    let bytes = 0;
    let first = 0;
    let last = 0;
    sock.on('message', (msg) => {
      if (bytes === 0) first = now();
      bytes += msg.length;
      last = now();
    });
    process.on('message', (m) => {
      if (m.cmd === 'count') send({ bytes, first, last, cpu: cpuSnap() });
    });
    sock.bind(0, '127.0.0.1', () => send({ port: sock.address().port }));
  } else if (kind === 'tcp') {
    const srv = net.createServer((s) => {
      let got = 0;
      let expected = null;
      let hdr = Buffer.alloc(0);
      cpuSnap();
      s.on('data', (d) => {
        if (expected == null) {
          hdr = Buffer.concat([hdr, d]);
          if (hdr.length < 8) return;
          expected = Number(hdr.readBigUInt64BE(0));
          d = hdr.subarray(8);
        }
        got += d.length;
        if (got >= expected) {
          s.write('k');
          send({ done: got, cpu: cpuSnap() });
        }
      });
      s.on('error', () => {});
    });
    srv.listen(0, '127.0.0.1', () => send({ port: srv.address().port }));
  } else if (kind === 'quic') {
    const keyPair = identity.generateKeyPair();
    const t = transportFor(keyPair);
    await t.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
    t.onConnection((conn) => {
      conn.onStream(async (stream) => {
        let got = 0;
        try {
          const reader = stream.readable.getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            got += value.byteLength;
          }
          const w = stream.writable.getWriter();
          const ack = Buffer.alloc(8);
          ack.writeBigUInt64BE(BigInt(got));
          await w.write(ack);
          await w.close();
        } catch (e) {
          send({ streamErr: String(e?.message ?? e) });
        }
      });
    });
    process.on('message', (m) => {
      if (m.cmd === 'cpu') send({ cpu: cpuSnap() });
    });
    send({
      port: t.localAddresses[0].port,
      nodeId: identity.encodeNodeId(t.nodeId),
    });
  }
}

// ------------------------------------------------------------------ parent
async function benchUdp() {
  const c = startChild(self, ['child', 'udp']);
  const { port } = await c.next();
  const sock = dgram.createSocket('udp4');
  const payload = Buffer.alloc(1200, 1);
  const t0 = now();
  let sent = 0;
  await new Promise((resolve) => {
    const pump = () => {
      if (now() - t0 > 3000) return resolve();
      for (let i = 0; i < 64; i++) {
        sock.send(payload, port, '127.0.0.1');
        sent += payload.length;
      }
      setImmediate(pump);
    };
    pump();
  });
  await new Promise((r) => setTimeout(r, 300));
  c.send({ cmd: 'count' });
  const r = await c.next((m) => m.bytes != null);
  sock.close();
  c.send({ cmd: 'exit' });
  await c.stop();
  const seconds = (r.last - r.first) / 1000;
  return {
    datagramBytes: 1200,
    sentMB: sent / MB,
    receivedMB: r.bytes / MB,
    lossPercent: 100 * (1 - r.bytes / sent),
    mbps: r.bytes / MB / seconds,
  };
}

async function benchTcp() {
  const c = startChild(self, ['child', 'tcp']);
  const { port } = await c.next();
  const bytes = BULK_BYTES;
  const chunk = Buffer.alloc(CHUNK, 2);
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const hdr = Buffer.alloc(8);
  hdr.writeBigUInt64BE(BigInt(bytes));
  s.write(hdr);
  for (let sent = 0; sent < bytes; sent += CHUNK) {
    if (!s.write(chunk.subarray(0, Math.min(CHUNK, bytes - sent)))) {
      await new Promise((r) => s.once('drain', r));
    }
  }
  const done = await c.next((m) => m.done != null);
  const t1 = now();
  const cpu = process.cpuUsage(cpu0);
  s.destroy();
  c.send({ cmd: 'exit' });
  await c.stop();
  const seconds = (t1 - t0) / 1000;
  return {
    bytes: done.done,
    seconds,
    mbps: done.done / MB / seconds,
    cpuSecondsPerMB: ((cpu.user + cpu.system) / 1e6 + done.cpu) / (done.done / MB),
  };
}

async function withQuicPeer(fn) {
  const c = startChild(self, ['child', 'quic']);
  const info = await c.next((m) => m.port != null);
  try {
    return await fn(info, c);
  } finally {
    c.send({ cmd: 'exit' });
    await c.stop();
  }
}

async function benchConnect() {
  return withQuicPeer(async (info) => {
    const t = transportFor(identity.generateKeyPair());
    await t.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
    const target = identity.decodeNodeId(info.nodeId);
    const address = addresses.toAddress('127.0.0.1', info.port);
    const times = [];
    for (let i = 0; i < CONNECTS; i++) {
      const t0 = now();
      const conn = await t.dial(target, address, { timer: 10_000 });
      times.push(now() - t0);
      await conn.close();
    }
    await t.stop();
    return {
      connects: CONNECTS,
      medianMs: median(times),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
    };
  });
}

async function benchBulk(streams) {
  return withQuicPeer(async (info, c) => {
    const t = transportFor(identity.generateKeyPair());
    await t.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
    const conn = await t.dial(
      identity.decodeNodeId(info.nodeId),
      addresses.toAddress('127.0.0.1', info.port),
    );
    const chunk = new Uint8Array(CHUNK).fill(3);
    const perStream = Math.floor(BULK_BYTES / streams);
    c.send({ cmd: 'cpu' });
    await c.next((m) => m.cpu != null);
    const cpu0 = process.cpuUsage();
    const t0 = now();
    const deadline = t0 + WINDOW_MS;
    const results = await Promise.all(
      Array.from({ length: streams }, async () => {
        const s = await conn.openStream();
        const w = s.writable.getWriter();
        let sent = 0;
        while (sent < perStream && now() < deadline) {
          const n = Math.min(CHUNK, perStream - sent);
          await w.write(n === CHUNK ? chunk : chunk.subarray(0, n));
          sent += n;
        }
        await w.close();
        const reader = s.readable.getReader();
        let ack = new Uint8Array(0);
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          ack = Buffer.concat([ack, value]);
        }
        return Number(Buffer.from(ack).readBigUInt64BE(0));
      }),
    );
    const t1 = now();
    const cpu = process.cpuUsage(cpu0);
    c.send({ cmd: 'cpu' });
    const peerCpu = (await c.next((m) => m.cpu != null)).cpu;
    await conn.close();
    await t.stop();
    const received = results.reduce((a, b) => a + b, 0);
    const seconds = (t1 - t0) / 1000;
    return {
      streams,
      targetBytes: BULK_BYTES,
      bytes: received,
      windowMs: WINDOW_MS,
      seconds,
      mbps: received / MB / seconds,
      cpuSecondsPerMB: ((cpu.user + cpu.system) / 1e6 + peerCpu) / (received / MB),
    };
  });
}

async function run() {
  const results = {};
  console.log('raw UDP (1200-byte datagrams, 3 s)...');
  results.udp = await benchUdp();
  console.log(
    `  ${results.udp.mbps.toFixed(1)} MB/s received, loss ${results.udp.lossPercent.toFixed(1)}%`,
  );
  console.log(`raw TCP (${BULK_BYTES / MB} MB)...`);
  results.tcp = await benchTcp();
  console.log(`  ${results.tcp.mbps.toFixed(1)} MB/s`);
  console.log(`connect time (${CONNECTS} dials, loopback)...`);
  results.connect = await benchConnect();
  console.log(`  median ${results.connect.medianMs.toFixed(1)} ms`);
  console.log(`QUIC 1 stream (${BULK_BYTES / MB} MB or ${WINDOW_MS / 1000} s)...`);
  results.quic1 = await benchBulk(1);
  console.log(
    `  ${results.quic1.mbps.toFixed(2)} MB/s (${(results.quic1.bytes / MB).toFixed(1)} MB)`,
  );
  console.log(`QUIC 8 streams...`);
  results.quic8 = await benchBulk(8);
  console.log(
    `  ${results.quic8.mbps.toFixed(2)} MB/s (${(results.quic8.bytes / MB).toFixed(1)} MB)`,
  );
  const ratios = {
    quic1VsUdp: results.quic1.mbps / results.udp.mbps,
    quic1VsTcp: results.quic1.mbps / results.tcp.mbps,
    quic8VsUdp: results.quic8.mbps / results.udp.mbps,
    quic8VsTcp: results.quic8.mbps / results.tcp.mbps,
  };
  const file = writeResults('transport', { results, ratios });
  console.log(`ratios: ${JSON.stringify(ratios)}`);
  console.log(`wrote ${file}`);
}

if (process.argv[2] === 'child') {
  await child(process.argv[3]);
}

export { run, benchUdp, benchTcp };
