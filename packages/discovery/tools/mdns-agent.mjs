// A controlled mDNS discovery node for lab tests and benches (built package: run `tsc -b` first).
// argv[2]: JSON config { network, port, backend?, families?, browseOnly? }. JSON lines: requests
// {"id","cmd"} on stdin (start, peers, stats, stop), replies and events
// ({"event":"peer"|"gone"|"ignored"|"error", ...}, `t` = ms since start) on stdout.
import crypto from 'node:crypto';
import readline from 'node:readline';
import Logger, { LogLevel, StreamHandler } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import { RealClock } from '@node-network/transport';
import { MdnsDiscovery, events } from '../dist/index.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const send = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const logger = new Logger('mdns-agent', LogLevel.INFO, [new StreamHandler()]);
const nodeId = identity.nodeIdFromPublicKey(crypto.randomBytes(32));
const clock = new RealClock();
let t0 = 0;
const t = () => Math.round((clock.now() - t0) * 10) / 10;
const discovery = new MdnsDiscovery({
  nodeId,
  networkId: config.network ?? 'testnet',
  port: config.port ?? 1314,
  clock,
  backend: config.backend ?? 'auto',
  browseOnly: config.browseOnly === true,
  responder: config.families != null ? { families: config.families } : undefined,
  logger,
});
discovery.addEventListener(events.EventMdnsPeer.name, (e) => {
  const p = e.detail;
  send({
    event: 'peer',
    t: t(),
    nodeId: p.nodeIdEncoded,
    networkId: p.networkId,
    addresses: p.addresses,
    firstSeen: p.firstSeen,
    backend: p.backend,
  });
});
discovery.addEventListener(events.EventMdnsPeerGone.name, (e) =>
  send({ event: 'gone', t: t(), nodeId: e.detail.nodeIdEncoded, reason: e.detail.reason }),
);
discovery.addEventListener(events.EventMdnsPeerIgnored.name, (e) =>
  send({ event: 'ignored', t: t(), ...e.detail }),
);
discovery.addEventListener(events.EventMdnsError.name, (e) =>
  send({ event: 'error', t: t(), message: e.detail.message }),
);
send({ event: 'ready', nodeId: identity.encodeNodeId(nodeId) });
const commands = {
  start: async () => {
    t0 = clock.now();
    await discovery.start();
    return { backend: discovery.backendKind, startMs: t() };
  },
  peers: async () =>
    discovery.peers().map((p) => ({ nodeId: p.nodeIdEncoded, addresses: p.addresses })),
  stats: async () => discovery.stats(),
  stop: async () => {
    const s0 = clock.now();
    await discovery.stop();
    return { stopMs: Math.round(clock.now() - s0) };
  },
};
readline
  .createInterface({ input: process.stdin })
  .on('line', (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      return;
    }
    const f = commands[req.cmd];
    if (f == null) return send({ id: req.id, error: `unknown command ${req.cmd}` });
    f(req.args ?? {}).then(
      (result) => send({ id: req.id, result }),
      (e) => send({ id: req.id, error: `${e.name}: ${e.message}` }),
    );
  })
  .on('close', async () => {
    await discovery.stop().catch(() => {});
    process.exit(0);
  });
process.on('SIGTERM', async () => {
  await discovery.stop().catch(() => {});
  process.exit(0);
});
