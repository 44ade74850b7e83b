#!/usr/bin/env node
// A js-libp2p node (or several, for the public helpers) in a lab namespace, driven over JSON
// lines like the matrix's agent. Configured as js-libp2p documents NAT traversal: QUIC
// (@chainsafe/libp2p-quic) and TCP (noise + yamux), the circuit relay v2 transport listening on
// /p2p-circuit (a reservation on a relay), identify, ping, AutoNAT v2, DCUtR and UPnP-NAT; the
// relay node runs identify, ping and circuitRelayServer (as js-libp2p's circuit relay example),
// the public helpers identify, ping and AutoNAT v2. AutoNAT v1 (@libp2p/autonat 3.0.28) is not
// used: its server closes the connection it dialled back on even when that is the client's
// existing one, which drops the client's relay reservation or the very connection under test;
// v2 dials back on a new connection.
//
//   node libp2p-agent.mjs '{"nodes":[{"listen":[...],"relayServer":true}],"bootstrap":[...]}'
//
// Commands: bootstrap, status, connect, stop.
import { send, serve, errorText, shimWithResolvers, sleep } from './lib/protocol.mjs';

shimWithResolvers();
const { createLibp2p } = await import('libp2p');
const { quic } = await import('@chainsafe/libp2p-quic');
const { tcp } = await import('@libp2p/tcp');
const { noise } = await import('@chainsafe/libp2p-noise');
const { yamux } = await import('@chainsafe/libp2p-yamux');
const { identify } = await import('@libp2p/identify');
const { ping } = await import('@libp2p/ping');
const { autoNATv2 } = await import('@libp2p/autonat-v2');
const { dcutr } = await import('@libp2p/dcutr');
const { uPnPNAT } = await import('@libp2p/upnp-nat');
const { circuitRelayServer, circuitRelayTransport } = await import('@libp2p/circuit-relay-v2');
const { multiaddr } = await import('@multiformats/multiaddr');
const { peerIdFromString } = await import('@libp2p/peer-id');

const isCircuit = (ma) => ma.toString().includes('/p2p-circuit');

/** One node: a relay server, a public helper, or a site's node (reserves a relay slot, punches). */
async function startNode({ listen, relayServer = null, site = false }) {
  const services = { identify: identify(), ping: ping() };
  if (relayServer != null) services.relay = circuitRelayServer(relayServer);
  else services.autoNAT = autoNATv2();
  if (site) {
    services.dcutr = dcutr();
    services.upnp = uPnPNAT();
  }
  return createLibp2p({
    // Public servers (the relay, the helpers) announce their listen addresses, as server
    // operators configure them; sites learn theirs (identify, AutoNAT, UPnP).
    addresses: site ? { listen: [...listen, '/p2p-circuit'] } : { listen, announce: listen },
    transports: [quic(), tcp(), ...(site ? [circuitRelayTransport()] : [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services,
  });
}

function connectionsOf(node) {
  return node.getConnections().map((c) => ({
    peer: c.remotePeer.toString(),
    remoteAddr: c.remoteAddr.toString(),
    direction: c.direction,
    limited: c.limits != null,
    status: c.status,
  }));
}

async function main() {
  const config = JSON.parse(process.argv[2] ?? '{}');
  const nodes = [];
  for (const n of config.nodes ?? []) nodes.push(await startNode(n));
  const node = nodes[0];
  const site = config.nodes?.[0]?.site === true;

  const commands = {
    status: async () => ({
      nodes: nodes.map((n) => ({
        peerId: n.peerId.toString(),
        addresses: n.getMultiaddrs().map(String),
        connections: connectionsOf(n),
      })),
    }),
    /**
     * Connects to the bootstrap peers (the relay and the public helpers) as @libp2p/bootstrap
     * would, then waits up to `timeoutMs` for a relay reservation (a /p2p-circuit address), at
     * least `minMs` (UPnP-NAT's first gateway search and AutoNAT's confirmations), and for our
     * addresses to settle (`settleMs` without a change).
     */
    bootstrap: async ({ timeoutMs = 25_000, minMs = 10_000, settleMs = 3_000 }) => {
      const t0 = performance.now();
      const dialled = await Promise.all(
        (config.bootstrap ?? []).map((a) =>
          node.dial(multiaddr(a), { signal: AbortSignal.timeout(timeoutMs) }).then(
            () => null,
            (e) => `${a}: ${errorText(e)}`,
          ),
        ),
      );
      const deadline = t0 + timeoutMs;
      let last = '';
      let stableSince = performance.now();
      while (performance.now() < deadline) {
        const now = node.getMultiaddrs().map(String).sort().join(' ');
        if (now !== last) {
          last = now;
          stableSince = performance.now();
        }
        const reserved = !site || node.getMultiaddrs().some(isCircuit);
        const settled = performance.now() - stableSince >= settleMs;
        if (reserved && settled && performance.now() - t0 >= minMs) break;
        await sleep(200);
      }
      return {
        peerId: node.peerId.toString(),
        addresses: node.getMultiaddrs().map(String),
        reserved: node.getMultiaddrs().some(isCircuit),
        errors: dialled.filter((e) => e != null),
        ms: performance.now() - t0,
      };
    },
    /**
     * Dials `peerId` knowing only what a peer routing lookup would answer (`addresses`: the
     * target's announced public and relay addresses), then watches up to `upgradeWaitMs` for
     * DCUtR (or its unilateral upgrade) to replace a relayed connection with a direct one.
     */
    connect: async ({ peerId, addresses = [], timeoutMs = 30_000, upgradeWaitMs = 16_000 }) => {
      const t0 = performance.now();
      const deadline = t0 + timeoutMs;
      const peer = peerIdFromString(peerId);
      try {
        if (addresses.length > 0) {
          await node.peerStore.merge(peer, { multiaddrs: addresses.map((a) => multiaddr(a)) });
        }
        const first = await node.dial(peer, { signal: AbortSignal.timeout(timeoutMs) });
        const connectMs = performance.now() - t0;
        if (!isCircuit(first.remoteAddr)) {
          return {
            connected: true,
            path: 'direct',
            connectMs,
            directMs: connectMs,
            remoteAddr: first.remoteAddr.toString(),
            error: null,
          };
        }
        const until = Math.min(deadline, performance.now() + upgradeWaitMs);
        while (performance.now() < until) {
          const direct = node
            .getConnections(peer)
            .find((c) => c.status === 'open' && !isCircuit(c.remoteAddr));
          if (direct != null) {
            return {
              connected: true,
              path: 'punched',
              connectMs,
              directMs: performance.now() - t0,
              remoteAddr: direct.remoteAddr.toString(),
              error: null,
            };
          }
          await sleep(100);
        }
        const relayed = node.getConnections(peer).find((c) => c.status === 'open');
        return {
          connected: relayed != null,
          path: relayed != null ? 'relayed' : null,
          connectMs,
          directMs: null,
          remoteAddr: relayed?.remoteAddr.toString() ?? null,
          error: relayed != null ? null : 'the relayed connection closed and no direct one opened',
        };
      } catch (e) {
        const inner = Array.isArray(e?.errors) ? ` (${e.errors.map(errorText).join('; ')})` : '';
        return {
          connected: false,
          path: null,
          connectMs: null,
          directMs: null,
          remoteAddr: null,
          error: `${errorText(e)}${inner}`,
        };
      }
    },
  };
  serve(commands, async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
  });
  send({
    event: 'ready',
    nodes: nodes.map((n) => ({
      peerId: n.peerId.toString(),
      addresses: n.getMultiaddrs().map(String),
    })),
  });
}

main().catch((e) => {
  process.stderr.write(`${errorText(e)}\n${e?.stack ?? ''}\n`);
  process.exit(1);
});
