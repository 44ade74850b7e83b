#!/usr/bin/env node
// hyperdht (Holepunch) in a lab namespace, driven over JSON lines like the matrix's agent.
//
// infra (the public namespace): an isolated DHT as hyperdht documents it, a bootstrap node
// (DHT.bootstrapper) and persistent nodes bootstrapped from it (as hyperdht/testnet builds
// them), plus a blind relay (blind-relay's server on a DHT server) for `relayThrough`.
// site: a DHT node bootstrapped from the lab's bootstrap node, a server listening on a key
// pair; `connect` dials a public key the way Hyperswarm does: holepunching first, and through
// the blind relay (`relayThrough`) once a punch failed with a code Hyperswarm relays on.
//
//   node hyperdht-agent.mjs '{"role":"infra","host":"7.7.8.10","port":49737,"nodes":9,
//     "hosts":["7.7.8.11",...],"relayHost":"7.7.8.13"}'
//   node hyperdht-agent.mjs '{"role":"site","bootstrap":["7.7.8.10:49737"],"relayHosts":[...]}'
import { send, serve, errorText, sleep } from './lib/protocol.mjs';

const { default: DHT } = await import('hyperdht');
const { default: BlindRelay } = await import('blind-relay');

/** The error codes on which Hyperswarm forces relaying for the next attempt. */
const relayOn = new Set([
  'HOLEPUNCH_ABORTED',
  'HOLEPUNCH_DOUBLE_RANDOMIZED_NATS',
  'REMOTE_NOT_HOLEPUNCHABLE',
]);

const remoteOf = (socket) =>
  socket.rawStream == null
    ? null
    : { host: socket.rawStream.remoteHost, port: socket.rawStream.remotePort };

async function infra({ host, port, nodes: count = 9, hosts = [host], relayHost = host }) {
  // Each node bound to one of the public namespace's addresses (a public server has its own
  // address; bound to 0.0.0.0 in a namespace with many, replies could leave from another one).
  const nodes = [DHT.bootstrapper(port, host, { host })];
  await nodes[0].fullyBootstrapped();
  const bootstrap = [`${host}:${port}`];
  while (nodes.length < count + 1) {
    const bind = hosts[nodes.length % hosts.length];
    const n = new DHT({ ephemeral: false, firewalled: false, bootstrap, host: bind });
    await n.fullyBootstrapped();
    nodes.push(n);
  }
  // The blind relay: a persistent node of its own, serving blind-relay sessions on its key pair.
  const relayDht = new DHT({ ephemeral: false, firewalled: false, bootstrap, host: relayHost });
  await relayDht.fullyBootstrapped();
  nodes.push(relayDht);
  const relay = new BlindRelay.Server({
    createStream: (opts) => relayDht.createRawStream({ ...opts, framed: true }),
  });
  const relayServer = relayDht.createServer((socket) => {
    socket.on('error', () => {});
    const session = relay.accept(socket, { id: socket.remotePublicKey });
    session.on('error', () => {});
  });
  const relayKeyPair = DHT.keyPair();
  await relayServer.listen(relayKeyPair);
  return {
    info: {
      bootstrap,
      relayPublicKey: relayKeyPair.publicKey.toString('hex'),
      nodes: nodes.map((n) => n.address()),
    },
    commands: {
      status: async () => ({ relay: relay.stats }),
    },
    stop: async () => {
      await relayServer.close().catch(() => {});
      await relay.close().catch(() => {});
      for (const n of nodes.reverse()) await n.destroy({ force: true }).catch(() => {});
    },
  };
}

async function site({ bootstrap, relayThrough = null, relayHosts = [] }) {
  const dht = new DHT({ bootstrap });
  const keyPair = DHT.keyPair();
  const sockets = new Set();
  const keep = (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  };
  const server = dht.createServer(keep);
  const relayKey = relayThrough == null ? null : Buffer.from(relayThrough, 'hex');
  const isRelay = (r) => r != null && relayHosts.includes(r.host);

  /** One connect attempt: resolves when the socket opens, rejects with its error. */
  const attempt = (publicKey, relay, timeoutMs) =>
    new Promise((resolve, reject) => {
      const socket = dht.connect(publicKey, relay ? { relayThrough: relayKey } : {});
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          Object.assign(new Error(`no open within ${Math.round(timeoutMs)} ms`), {
            code: 'TIMEOUT',
          }),
        );
      }, timeoutMs);
      socket.once('open', () => {
        clearTimeout(timer);
        keep(socket);
        resolve(socket);
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });

  const commands = {
    /** Waits for the DHT to bootstrap (and to learn whether it is firewalled), then listens. */
    bootstrap: async ({ timeoutMs = 30_000 }) => {
      const t0 = performance.now();
      const within = (p, what) =>
        Promise.race([
          p,
          sleep(Math.max(0, t0 + timeoutMs - performance.now())).then(() => {
            throw new Error(`${what} did not finish within ${timeoutMs} ms`);
          }),
        ]);
      await within(dht.fullyBootstrapped(), 'bootstrapping the DHT');
      await within(server.listen(keyPair), 'announcing the server');
      return {
        publicKey: keyPair.publicKey.toString('hex'),
        firewalled: dht.firewalled,
        remoteAddress: dht.remoteAddress(),
        ms: performance.now() - t0,
      };
    },
    status: async () => ({
      publicKey: keyPair.publicKey.toString('hex'),
      firewalled: dht.firewalled,
      remoteAddress: dht.remoteAddress(),
      stats: dht.stats.punches,
      sockets: [...sockets].map(remoteOf),
    }),
    /**
     * Connects to `publicKey` until `timeoutMs`: attempts without a relay, retried after 1 s on
     * failure (Hyperswarm's explicit-peer retry), through the blind relay once a punch failed
     * with a code Hyperswarm relays on. A relayed socket is watched up to `upgradeWaitMs` for
     * hyperdht's own upgrade to a punched path.
     */
    connect: async ({ publicKey, timeoutMs = 30_000, upgradeWaitMs = 16_000 }) => {
      const t0 = performance.now();
      const deadline = t0 + timeoutMs;
      const before = { ...dht.stats.punches };
      const errors = [];
      let relay = false;
      let socket = null;
      while (socket == null && performance.now() < deadline - 50) {
        try {
          socket = await attempt(publicKey, relay, deadline - performance.now());
        } catch (e) {
          errors.push(`${relay ? 'relayed ' : ''}${errorText(e)}`);
          if (relayKey != null && relayOn.has(e.code)) relay = true;
          else await sleep(Math.min(1_000, Math.max(0, deadline - performance.now())));
        }
      }
      const punches = Object.fromEntries(
        Object.entries(dht.stats.punches).map(([k, v]) => [k, v - (before[k] ?? 0)]),
      );
      if (socket == null) {
        return { connected: false, path: null, connectMs: null, errors, punches };
      }
      const connectMs = performance.now() - t0;
      let remote = remoteOf(socket);
      let directMs = isRelay(remote) ? null : connectMs;
      if (isRelay(remote)) {
        const until = Math.min(deadline, performance.now() + upgradeWaitMs);
        while (performance.now() < until && !socket.destroyed) {
          remote = remoteOf(socket);
          if (remote != null && !isRelay(remote)) {
            directMs = performance.now() - t0;
            break;
          }
          await sleep(100);
        }
      }
      return {
        connected: !socket.destroyed,
        relayedFirst: relay,
        firewalled: dht.firewalled,
        remote,
        relayed: isRelay(remote),
        connectMs,
        directMs,
        errors,
        punches,
      };
    },
  };
  return {
    info: {},
    commands,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await server.close().catch(() => {});
      await dht.destroy({ force: true }).catch(() => {});
    },
  };
}

async function main() {
  const config = JSON.parse(process.argv[2] ?? '{}');
  const { info, commands, stop } =
    config.role === 'infra' ? await infra(config) : await site(config);
  serve(commands, stop);
  send({ event: 'ready', ...info });
}

main().catch((e) => {
  process.stderr.write(`${errorText(e)}\n${e?.stack ?? ''}\n`);
  process.exit(1);
});
