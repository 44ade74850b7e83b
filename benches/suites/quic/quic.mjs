// QUIC bulk throughput, in one run, on loopback: our transport (patched @matrixai/quic 2.0.9) with
// 1 stream, 8 streams on one connection and 8 connections, on the main-thread engine and on the
// worker engine (WorkerQUICTransport); stock @matrixai/quic 2.0.9;
// @chainsafe/libp2p-quic 2.x through libp2p 3 (1 stream, 8 streams, 8 connections); TLS 1.3 over
// TCP; and raw UDP and TCP (from the transport suite's helpers). Per row: MB/s, CPU seconds per MB
// (both sides) and the event-loop delay p50/p99 of each side during the transfer. Each row runs in a
// fresh process (the sender), with the receiver in a child of it. Writes benches/results/quic.json.
// Run alone: `BENCH_BULK_BYTES=8000000 node benches/suites/quic/quic.mjs`; `BENCH_QUIC_ROWS=worker1,ours8c`
// runs only the rows named (keys of `results`) and writes no results file.
import { createHmac, randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { QUICTransport, WorkerQUICTransport, addresses } from '@node-network/transport';
import { MB, now, startChild, writeResults } from '../../lib.mjs';
import { benchUdp, benchTcp } from '../transport/transport.mjs';
import { importStockQuic } from './stock.mjs';

const self = fileURLToPath(import.meta.url);
const CHUNK = 64 * 1024;
const BYTES = Number(process.env.BENCH_BULK_BYTES ?? 128e6);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 20_000);
const ROWS = process.env.BENCH_QUIC_ROWS?.split(',').filter((r) => r !== '');
const logger = new Logger('bench', LogLevel.ERROR);

async function certPems() {
  const keyPair = identity.generateKeyPair();
  const cert = await identity.createCertificate({
    subjectKeyPair: keyPair,
    network: 'testnet',
    now: new Date(),
    durationSeconds: 3600,
  });
  return {
    keyPair,
    key: identity.privateKeyToPem(keyPair.privateKey),
    cert: identity.certificateChainToPem([cert]),
  };
}

/** Ours on the main-thread engine, or (`worker`) on the worker engine. */
async function ourTransport({ worker = false } = {}) {
  const options = { keyPair: identity.generateKeyPair(), network: 'testnet', logger };
  const t = worker ? new WorkerQUICTransport(options) : new QUICTransport(options);
  await t.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
  return t;
}

function cpuMeter() {
  let cpu = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    return (d.user + d.system) / 1e6;
  };
}

function eld() {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  return () => {
    h.disable();
    return { p50Ms: h.percentile(50) / 1e6, p99Ms: h.percentile(99) / 1e6 };
  };
}

/** Counts a web stream's bytes, then answers the count (8 bytes) and closes. */
export async function countAndAnswer(stream) {
  let got = 0;
  const reader = stream.readable.getReader();
  for (let x = await reader.read(); !x.done; x = await reader.read()) got += x.value.byteLength;
  const w = stream.writable.getWriter();
  const ack = Buffer.alloc(8);
  ack.writeBigUInt64BE(BigInt(got));
  await w.write(ack);
  await w.close();
}

/** Writes until `bytes` or the deadline, closes, and returns the receiver's count. */
async function sendAndCount(stream, bytes, deadline) {
  const chunk = new Uint8Array(CHUNK).fill(3);
  const w = stream.writable.getWriter();
  for (let sent = 0; sent < bytes && now() < deadline; sent += CHUNK) await w.write(chunk);
  await w.close();
  const r = stream.readable.getReader();
  let ack = Buffer.alloc(0);
  for (let x = await r.read(); !x.done; x = await r.read()) ack = Buffer.concat([ack, x.value]);
  return Number(ack.readBigUInt64BE(0));
}

const hmac = {
  sign: async (k, data) => {
    const mac = createHmac('sha256', Buffer.from(k)).update(Buffer.from(data)).digest();
    return mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.byteLength);
  },
  verify: async (k, data, sig) =>
    createHmac('sha256', Buffer.from(k))
      .update(Buffer.from(data))
      .digest()
      .equals(Buffer.from(sig)),
};

// ------------------------------------------------------------------ child (receiver)
async function child(kind) {
  const send = (m) => process.send(m);
  const cpu = cpuMeter();
  let stopEld;
  // A parent that dies (a crash) must not leave the receiver running.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    if (m.cmd === 'exit') process.exit(0);
    if (m.cmd === 'begin') {
      cpu();
      stopEld = eld();
      send({ begun: true });
    }
    if (m.cmd === 'end') send({ cpu: cpu(), eld: stopEld() });
  });
  if (kind === 'ours' || kind === 'worker') {
    const t = await ourTransport({ worker: kind === 'worker' });
    t.onConnection((c) => c.onStream((s) => void countAndAnswer(s).catch(() => {})));
    send({ port: t.localAddresses[0].port, nodeId: identity.encodeNodeId(t.nodeId) });
  } else if (kind === 'stock') {
    const quic = await importStockQuic();
    const { key, cert } = await certPems();
    const k = randomBytes(32);
    const server = new quic.QUICServer({
      crypto: { key: k.buffer.slice(k.byteOffset, k.byteOffset + 32), ops: hmac },
      config: { key, cert, verifyPeer: false, applicationProtos: ['quic'] },
      logger,
    });
    server.addEventListener('EventQUICServerConnection', (evt) =>
      evt.detail.addEventListener(
        'EventQUICConnectionStream',
        (e) => void countAndAnswer(e.detail).catch(() => {}),
      ),
    );
    await server.start({ host: '127.0.0.1', port: 0 });
    send({ port: server.port });
  } else if (kind === 'libp2p') {
    const { libp2pReceiver } = await import('./libp2p.mjs');
    await libp2pReceiver(send);
  } else if (kind === 'tls') {
    const { key, cert } = await certPems();
    const srv = tls.createServer({ key, cert, minVersion: 'TLSv1.3' }, (s) => {
      let got = 0;
      s.on('data', (d) => (got += d.length));
      s.on('end', () => {
        const ack = Buffer.alloc(8);
        ack.writeBigUInt64BE(BigInt(got));
        s.end(ack);
      });
      s.on('error', () => {});
    });
    srv.listen(0, '127.0.0.1', () => send({ port: srv.address().port }));
  }
}

// ------------------------------------------------------------------ sender (this process)
async function measure(kind, { connections = 1, streams = 1 } = {}) {
  const c = startChild(self, ['child', kind]);
  const info = await c.next((m) => m.port != null);
  const total = kind === 'stock' ? Math.min(BYTES, 64e6) : BYTES;
  const perStream = Math.floor(total / (connections * streams));
  const closers = [];
  try {
    let openStreams;
    if (kind === 'ours' || kind === 'worker') {
      const t = await ourTransport({ worker: kind === 'worker' });
      closers.push(() => t.stop());
      const conns = [];
      for (let i = 0; i < connections; i++) {
        conns.push(
          await t.dial(
            identity.decodeNodeId(info.nodeId),
            addresses.toAddress('127.0.0.1', info.port),
          ),
        );
      }
      openStreams = () =>
        conns.flatMap((conn) => Array.from({ length: streams }, () => conn.openStream()));
    } else if (kind === 'stock') {
      const quic = await importStockQuic();
      const { key, cert } = await certPems();
      const clients = [];
      for (let i = 0; i < connections; i++) {
        const client = await quic.QUICClient.createQUICClient({
          host: '127.0.0.1',
          port: info.port,
          crypto: {
            ops: { randomBytes: async (d) => void randomBytes(d.byteLength).copy(Buffer.from(d)) },
          },
          config: { key, cert, verifyPeer: false, applicationProtos: ['quic'] },
          logger,
        });
        clients.push(client);
        closers.push(() => client.destroy({ force: true }));
      }
      openStreams = () =>
        clients.flatMap((cl) =>
          Array.from({ length: streams }, () => Promise.resolve(cl.connection.newStream())),
        );
    }
    let libp2p;
    if (kind === 'libp2p') {
      const { libp2pSender } = await import('./libp2p.mjs');
      libp2p = await libp2pSender(info.addr, {
        connections,
        streams,
        chunk: new Uint8Array(CHUNK).fill(3),
      });
      closers.push(() => libp2p.close());
    }
    c.send({ cmd: 'begin' });
    await c.next((m) => m.begun);
    const cpu = cpuMeter();
    const stopEld = eld();
    const t0 = now();
    const deadline = t0 + WINDOW_MS;
    let received;
    if (kind === 'tls') {
      received = await new Promise((resolve, reject) => {
        const s = tls.connect(
          { host: '127.0.0.1', port: info.port, rejectUnauthorized: false },
          async () => {
            const chunk = Buffer.alloc(CHUNK, 3);
            for (let sent = 0; sent < total; sent += CHUNK) {
              if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
            }
            s.end();
          },
        );
        let ack = Buffer.alloc(0);
        s.on('data', (d) => (ack = Buffer.concat([ack, d])));
        s.on('end', () => resolve(Number(ack.readBigUInt64BE(0))));
        s.on('error', reject);
      });
    } else if (kind === 'libp2p') {
      await libp2p.sendAll(perStream, deadline, now);
      const reports = [];
      for (let i = 0; i < connections * streams; i++) {
        reports.push(await c.next((m) => m.streamBytes != null));
      }
      received = reports.reduce((a, m) => a + m.streamBytes, 0);
      if (libp2p.redials() > 0)
        console.log(`  (libp2p redialled ${libp2p.redials()} closed connections)`);
    } else {
      const counts = await Promise.all(
        openStreams().map(async (p) => sendAndCount(await p, perStream, deadline)),
      );
      received = counts.reduce((a, b) => a + b, 0);
    }
    const seconds = (now() - t0) / 1000;
    const senderCpu = cpu();
    const senderEld = stopEld();
    c.send({ cmd: 'end' });
    const peer = await c.next((m) => m.cpu != null);
    return {
      kind,
      connections,
      streams,
      bytes: received,
      seconds,
      mbps: received / MB / seconds,
      cpuSecondsPerMB: (senderCpu + peer.cpu) / (received / MB),
      eventLoopDelay: { sender: senderEld, receiver: peer.eld },
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    c.send({ cmd: 'exit' });
    await c.stop();
  }
}

function row(name, r) {
  console.log(
    `  ${name.padEnd(34)} ${r.mbps.toFixed(1).padStart(7)} MB/s  ${r.cpuSecondsPerMB.toFixed(4)} CPU s/MB` +
      (r.eventLoopDelay
        ? `  loop delay p99 sender ${r.eventLoopDelay.sender.p99Ms.toFixed(1)} ms, receiver ${r.eventLoopDelay.receiver.p99Ms.toFixed(1)} ms`
        : ''),
  );
}

const rows = [
  ['udp', 'raw UDP (1200-byte datagrams)', async () => ({ ...(await benchUdp()) })],
  ['tcp', 'raw TCP', () => benchTcp()],
  ['tls', 'TLS 1.3 over TCP', () => measure('tls')],
  ['stock1', 'stock @matrixai/quic 2.0.9, 1 stream', () => measure('stock')],
  ['stock8', 'stock, 8 streams', () => measure('stock', { streams: 8 })],
  ['libp2p1', '@chainsafe/libp2p-quic, 1 stream', () => measure('libp2p')],
  ['libp2p8s', 'libp2p-quic, 8 streams on 1 conn', () => measure('libp2p', { streams: 8 })],
  ['libp2p8c', 'libp2p-quic, 8 connections', () => measure('libp2p', { connections: 8 })],
  ['ours1', 'ours, 1 stream', () => measure('ours')],
  ['ours8s', 'ours, 8 streams on 1 connection', () => measure('ours', { streams: 8 })],
  ['ours8c', 'ours, 8 connections', () => measure('ours', { connections: 8 })],
  ['worker1', 'ours worker engine, 1 stream', () => measure('worker')],
  ['worker8s', 'worker engine, 8 streams on 1 conn', () => measure('worker', { streams: 8 })],
  ['worker8c', 'worker engine, 8 connections', () => measure('worker', { connections: 8 })],
];

/**
 * One row, as a process of its own (`quic.mjs row <key>`): a row's sender must not inherit the heap,
 * the loaded modules or the threads of the rows before it (the event-loop delay of the last rows
 * run in one long-lived sender was up to twice that of the same row run alone).
 */
async function runRow(key) {
  const c = startChild(self, ['row', key]);
  try {
    const m = await c.next((x) => x.result != null || x.error != null, 600_000);
    if (m.error != null) throw new Error(`row ${key} failed: ${m.error}`);
    return m.result;
  } finally {
    await c.stop();
  }
}

async function rowProcess(key) {
  const [, , bench] = rows.find(([k]) => k === key);
  try {
    process.send({ result: await bench() });
  } catch (e) {
    process.send({ error: String(e?.stack ?? e) });
  }
}

async function run() {
  const results = {};
  for (const [key, name] of rows) {
    if (ROWS != null && !ROWS.includes(key)) continue;
    results[key] = await runRow(key);
    row(name, key === 'udp' ? { ...results[key], cpuSecondsPerMB: NaN } : results[key]);
  }
  const ratio = (a, b) =>
    results[a] != null && results[b] != null ? results[a].mbps / results[b].mbps : undefined;
  const ratios = {
    ours1VsStock1: ratio('ours1', 'stock1'),
    ours8sVsStock8: ratio('ours8s', 'stock8'),
    ours1VsTls: ratio('ours1', 'tls'),
    ours8cVsOurs1: ratio('ours8c', 'ours1'),
    ours1VsUdp: ratio('ours1', 'udp'),
    ours1VsLibp2p1: ratio('ours1', 'libp2p1'),
    ours8sVsLibp2p8s: ratio('ours8s', 'libp2p8s'),
    ours8cVsLibp2p8c: ratio('ours8c', 'libp2p8c'),
    worker1VsOurs1: ratio('worker1', 'ours1'),
    worker8cVsWorker1: ratio('worker8c', 'worker1'),
    worker8cVsOurs8c: ratio('worker8c', 'ours8c'),
  };
  console.log(`ratios: ${JSON.stringify(ratios)}`);
  if (ROWS != null) {
    console.log('(a subset of rows: benches/results/quic.json is left as it was)');
    return;
  }
  console.log(
    `wrote ${writeResults('quic', {
      results,
      ratios,
      bytes: BYTES,
      windowMs: WINDOW_MS,
      peers: { ...(await import('./libp2p.mjs')).versions(), matrixaiQuicStock: '2.0.9' },
    })}`,
  );
}

if (process.argv[2] === 'child' && process.argv[1] === self) await child(process.argv[3]);
else if (process.argv[2] === 'row' && process.argv[1] === self) await rowProcess(process.argv[3]);
else if (process.argv[1] === self) await run();

export { run };
