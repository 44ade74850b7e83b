// Profiles the receiving side of one QUIC bulk transfer (this process; run it with --cpu-prof),
// the sender in a forked child. `node --cpu-prof benches/suites/transport/profile-receiver.mjs [MB]`
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { QUICTransport, addresses } from '@node-network/transport';

const logger = new Logger('profile', LogLevel.ERROR);
const bytes = Number(process.argv[3] ?? process.argv[2] ?? 16) * 1e6;
const make = () =>
  new QUICTransport({
    keyPair: identity.generateKeyPair(),
    network: 'testnet',
    config: {
      quic: JSON.parse(process.env.QUIC_CONFIG ?? '{}'),
      udpGso: process.env.UDP_GSO !== '0',
    },
    logger,
  });

if (process.argv[2] === 'sender') {
  process.once('message', async ({ nodeId, port }) => {
    const t = make();
    await t.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
    const c = await t.dial(identity.decodeNodeId(nodeId), addresses.toAddress('127.0.0.1', port));
    const s = await c.openStream();
    const w = s.writable.getWriter();
    const chunk = new Uint8Array(64 * 1024).fill(7);
    for (let sent = 0; sent < bytes; sent += chunk.byteLength) await w.write(chunk);
    await w.close();
    await s.readable.getReader().read();
    if (process.env.QUIC_STATS) {
      const conn = c.quicConnection.conn;
      const st = conn.stats();
      const [ps] = conn.pathStats();
      const u = process.cpuUsage();
      console.error(
        JSON.stringify(
          {
            senderCpuSPerMB: (u.user + u.system) / 1e6 / (bytes / 1e6),
            sent: st.sent,
            recv: st.recv,
            lost: st.lost,
            retrans: st.retrans,
            rtt: ps?.rtt,
            cwnd: ps?.cwnd,
            deliveryRate: ps?.deliveryRate,
            gso: t.gsoStats,
          },
          (k, v) => (typeof v === 'bigint' ? Number(v) : v),
        ),
      );
    }
    await t.stop();
    process.exit(0);
  });
} else {
  const t = make();
  await t.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
  const t0 = performance.now();
  let got = 0;
  t.onConnection((c) =>
    c.onStream(async (s) => {
      const r = s.readable.getReader();
      for (let x = await r.read(); !x.done; x = await r.read()) got += x.value.byteLength;
      const ms = performance.now() - t0;
      const u = process.cpuUsage();
      if (process.env.QUIC_STATS)
        console.error(
          JSON.stringify({ receiverCpuSPerMB: (u.user + u.system) / 1e6 / (got / 1e6) }),
        );
      console.log(
        `${(got / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms: ${(got / 1e3 / ms).toFixed(2)} MB/s`,
      );
      const w = s.writable.getWriter();
      await w.write(Uint8Array.of(1));
      await w.close();
    }),
  );
  const child = fork(fileURLToPath(import.meta.url), ['sender', String(bytes / 1e6)], {
    execArgv: process.env.PROFILE_SENDER
      ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.PROFILE_SENDER}`]
      : [],
  });
  child.send({ nodeId: identity.encodeNodeId(t.nodeId), port: t.localAddresses[0].port });
  await new Promise((r) => child.once('exit', r));
  await t.stop();
}
