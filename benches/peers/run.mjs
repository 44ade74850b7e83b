// Side by side on one netns lab: our connectivity matrix (packages/matrix), then the same pairs
// with js-libp2p and with hyperdht, each stack facing the same namespaces and kernel NATs.
// Root only (network namespaces). Every namespace (prefix `nnpeer`) and process is removed at
// the end, on failure too; the lab has no link out of its namespaces.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, ControlledProcess, canRunNetlab } from '@node-network/netlab';
import { runNetnsMatrix, netnsLabSites, allPairs, kinds as allKinds } from '@node-network/matrix';
import { isPrivate } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';

const here = path.dirname(fileURLToPath(import.meta.url));
const libp2pAgent = path.join(here, 'libp2p-agent.mjs');
const hyperdhtAgent = path.join(here, 'hyperdht-agent.mjs');

/**
 * The lab internet in global-unicast space instead of documentation ranges: js-libp2p
 * (@libp2p/utils isPrivate) and hyperdht (bogon) treat 203.0.113.0/24 and 2001:db8::/32 as
 * private or reserved, and would never see a public address there (no AutoNAT, no DCUtR, no
 * direct addresses). Four more /24s in other /8s hold public helper peers: AutoNAT v1 wants
 * confirmations from four network segments (first octet). Nothing routes these ranges out
 * of the lab's namespaces.
 */
const internet = {
  ipv4: '7.7.8',
  ipv6: '2a07:7:7::',
  moreIpv4: ['11.7.7', '21.7.7', '22.7.7', '26.7.7'],
};
const labPrefix = 'nnpeer';

/** Runs `tasks` with at most `n` at a time, keeping their order in the result. */
async function bounded(n, tasks) {
  const out = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]();
      }
    }),
  );
  return out;
}

async function startAgent(lab, ns, script, config, readyMs = 120_000) {
  const proc = new ControlledProcess(
    lab.spawn(ns, [process.execPath, script, JSON.stringify(config)]),
  );
  const ready = await proc
    .waitForEvent((e) => e.event === 'ready', readyMs)
    .catch((e) => {
      throw new Error(
        `${path.basename(script)} in ${ns} did not start: ${e.message}\n${proc.stderr}`,
      );
    });
  return { proc, ready };
}

/** Forgets every NAT mapping (conntrack, and the restricted routers' @peers sets) between stacks. */
async function resetNats(lab) {
  for (const site of lab.sites.values()) {
    await lab.flushConntrack(site.name);
    if (site.kind === 'restricted' && site.routerNs != null) {
      await lab.exec(site.routerNs, ['nft', 'flush', 'set', 'ip', 'nat', 'peers']).catch(() => {});
    }
  }
}

function summary(pairs) {
  const count = (p) => pairs.filter((x) => x.path === p).length;
  return {
    pairs: pairs.length,
    connected: pairs.filter((p) => p.connected).length,
    direct: count('direct'),
    punched: count('punched'),
    relayed: count('relayed'),
    httpRelay: count('http-relay'),
  };
}

function libp2pListen(site) {
  const v4 = ['/ip4/0.0.0.0/udp/0/quic-v1', '/ip4/0.0.0.0/tcp/0'];
  const v6 = ['/ip6/::/udp/0/quic-v1', '/ip6/::/tcp/0'];
  if (site.kind === 'ipv6-only') return v6;
  if (site.kind === 'open') return [...v4, ...v6];
  return v4;
}

/** What a peer routing lookup would answer for a node: its announced addresses, private ones dropped. */
function routable(addresses) {
  return addresses.filter((a) => a.includes('/p2p-circuit') || !isPrivate(multiaddr(a)));
}

async function runLibp2p(lab, { kinds, timeoutMs, upgradeWaitMs, concurrency, log }) {
  const t0 = performance.now();
  const agents = [];
  try {
    const { ipv4, ipv6 } = lab.dualStackIps;
    const relay = await startAgent(lab, lab.observerNs, libp2pAgent, {
      nodes: [
        {
          listen: [
            `/ip4/${ipv4}/udp/4001/quic-v1`,
            `/ip4/${ipv4}/tcp/4001`,
            `/ip6/${ipv6}/udp/4001/quic-v1`,
            `/ip6/${ipv6}/tcp/4001`,
          ],
          // 18 sites reserve a slot: more than the default 15 reservations.
          relayServer: { reservations: { maxReservations: 128 } },
        },
      ],
    });
    agents.push(relay);
    // AutoNAT servers in four other /8s (and on IPv6, for IPv6 hosts' addresses).
    const helpers = await startAgent(lab, lab.observerNs, libp2pAgent, {
      nodes: lab.moreObserverIps.map((ip, i) => {
        const ip6 = lab.observerIpv6s[i % lab.observerIpv6s.length];
        const port = 4001 + i;
        return {
          listen: [
            `/ip4/${ip}/udp/${port}/quic-v1`,
            `/ip4/${ip}/tcp/${port}`,
            `/ip6/${ip6}/udp/${port}/quic-v1`,
            `/ip6/${ip6}/tcp/${port}`,
          ],
        };
      }),
    });
    agents.push(helpers);
    const withId = (n) =>
      n.addresses.map((a) => (a.includes('/p2p/') ? a : `${a}/p2p/${n.peerId}`));
    const bootstrap = [...relay.ready.nodes, ...helpers.ready.nodes].flatMap(withId);
    const nodes = new Map();
    const boot = {};
    await Promise.all(
      [...lab.sites.values()].map(async (site) => {
        try {
          const a = await startAgent(lab, site.hostNs, libp2pAgent, {
            nodes: [{ listen: libp2pListen(site), site: true }],
            bootstrap,
          });
          agents.push(a);
          nodes.set(site.name, a);
          boot[site.name] = await a.proc
            .request('bootstrap', { timeoutMs: 25_000 }, 40_000)
            .catch((e) => ({ error: e.message }));
        } catch (e) {
          boot[site.name] = { error: e.message };
        }
      }),
    );
    log(`libp2p: ${nodes.size} nodes up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const pairs = await bounded(
      concurrency,
      allPairs(kinds).map(([a, b]) => async () => {
        const from = nodes.get(`${a}-a`);
        const to = nodes.get(`${b}-b`);
        const target = (await to?.proc.request('status', {}, 10_000).catch(() => null))?.nodes[0];
        if (from == null || target == null) {
          const error = `agent did not start: ${boot[from == null ? `${a}-a` : `${b}-b`]?.error}`;
          return { a, b, connected: false, path: null, connectMs: null, error };
        }
        const r = await from.proc
          .request(
            'connect',
            {
              peerId: target.peerId,
              addresses: routable(target.addresses),
              timeoutMs,
              upgradeWaitMs,
            },
            timeoutMs + 10_000,
          )
          .catch((e) => ({ connected: false, path: null, connectMs: null, error: e.message }));
        log(`libp2p ${a} -> ${b}: ${r.connected ? r.path : `failed: ${r.error}`}`);
        return { a, b, ...r };
      }),
    );
    return {
      pairs,
      summary: summary(pairs),
      bootstrap: Object.fromEntries(
        Object.entries(boot).map(([k, v]) => [
          k,
          {
            reserved: v.reserved ?? false,
            addresses: v.addresses ?? [],
            error: v.error ?? null,
            // Bootstrap peers it could not reach (IPv4 ones from an IPv6-only host, all from udp-blocked).
            unreachedBootstrapAddresses: v.errors?.length ?? 0,
          },
        ]),
      ),
      wallMs: performance.now() - t0,
    };
  } finally {
    await Promise.all(agents.map((a) => a.proc.stop().catch(() => {})));
  }
}

async function runHyperdht(lab, { kinds, timeoutMs, upgradeWaitMs, concurrency, log }) {
  const t0 = performance.now();
  const agents = [];
  try {
    const infra = await startAgent(lab, lab.observerNs, hyperdhtAgent, {
      role: 'infra',
      host: lab.observerIps[0],
      port: 49737,
      nodes: 9,
      hosts: [...lab.observerIps, ...lab.moreObserverIps],
      relayHost: lab.dualStackIps.ipv4,
    });
    agents.push(infra);
    const relayHosts = [
      ...lab.observerIps,
      lab.dualStackIps.ipv4,
      ...lab.moreObserverIps,
      lab.upnpObserverIp,
    ];
    const nodes = new Map();
    const boot = {};
    await Promise.all(
      [...lab.sites.values()].map(async (site) => {
        try {
          const a = await startAgent(lab, site.hostNs, hyperdhtAgent, {
            role: 'site',
            bootstrap: infra.ready.bootstrap,
            relayThrough: infra.ready.relayPublicKey,
            relayHosts,
          });
          agents.push(a);
          nodes.set(site.name, a);
          boot[site.name] = await a.proc
            .request('bootstrap', { timeoutMs: 30_000 }, 40_000)
            .catch((e) => ({ error: e.message }));
        } catch (e) {
          boot[site.name] = { error: e.message };
        }
      }),
    );
    log(`hyperdht: ${nodes.size} nodes up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const pairs = await bounded(
      concurrency,
      allPairs(kinds).map(([a, b]) => async () => {
        const from = nodes.get(`${a}-a`);
        if (from == null) {
          const error = `agent did not start: ${boot[`${a}-a`]?.error}`;
          return { a, b, connected: false, path: null, connectMs: null, error };
        }
        const target =
          boot[`${b}-b`]?.publicKey == null
            ? boot[`${b}-b`]
            : await nodes
                .get(`${b}-b`)
                .proc.request('status', {}, 10_000)
                .catch((e) => ({ error: e.message }));
        if (target?.publicKey == null) {
          return {
            a,
            b,
            connected: false,
            path: null,
            connectMs: null,
            error: `target never listened: ${target?.error ?? 'no key'}`,
          };
        }
        const r = await from.proc
          .request(
            'connect',
            { publicKey: target.publicKey, timeoutMs, upgradeWaitMs },
            timeoutMs + 10_000,
          )
          .catch((e) => ({ connected: false, connectMs: null, errors: [e.message] }));
        // Relayed: the socket's far end is the blind relay. Otherwise direct when the target
        // believed itself open (it announces its address and hyperdht dials it, no punch),
        // punched when it believed itself firewalled (hyperdht's punch exchange through the DHT).
        const path = !r.connected
          ? null
          : r.relayed
            ? 'relayed'
            : r.relayedFirst || target.remoteAddress == null
              ? 'punched'
              : 'direct';
        const error = r.connected ? null : (r.errors ?? []).slice(-3).join('; ') || 'not connected';
        log(`hyperdht ${a} -> ${b}: ${r.connected ? path : `failed: ${error}`}`);
        return {
          a,
          b,
          connected: r.connected,
          path,
          connectMs: r.connectMs ?? null,
          directMs: r.directMs ?? null,
          remote: r.remote ?? null,
          attempts: (r.errors?.length ?? 0) + (r.connected ? 1 : 0),
          attemptErrors: r.connected ? (r.errors ?? []) : [],
          error,
          punches: r.punches ?? null,
        };
      }),
    );
    return {
      pairs,
      summary: summary(pairs),
      bootstrap: Object.fromEntries(
        Object.entries(boot).map(([k, v]) => [
          k,
          {
            firewalled: v.firewalled ?? null,
            remoteAddress: v.remoteAddress ?? null,
            error: v.error ?? null,
          },
        ]),
      ),
      wallMs: performance.now() - t0,
    };
  } finally {
    await Promise.all(agents.map((a) => a.proc.stop().catch(() => {})));
  }
}

function versions() {
  const v = (file) => JSON.parse(fs.readFileSync(file, 'utf8')).version;
  const dep = (name) => v(path.join(here, 'node_modules', name, 'package.json'));
  const root = path.join(here, '..', '..');
  return {
    'node-network': v(path.join(root, 'packages', 'node-network', 'package.json')),
    libp2p: dep('libp2p'),
    '@chainsafe/libp2p-quic': dep('@chainsafe/libp2p-quic'),
    '@libp2p/tcp': dep('@libp2p/tcp'),
    '@libp2p/circuit-relay-v2': dep('@libp2p/circuit-relay-v2'),
    '@libp2p/dcutr': dep('@libp2p/dcutr'),
    '@libp2p/identify': dep('@libp2p/identify'),
    '@libp2p/autonat-v2': dep('@libp2p/autonat-v2'),
    '@libp2p/upnp-nat': dep('@libp2p/upnp-nat'),
    hyperdht: dep('hyperdht'),
    'blind-relay': dep('blind-relay'),
    node: process.version,
  };
}

/** The lab for `kinds`: packages/matrix's netns sites, the `nnpeer` prefix, the global-unicast internet. */
function createPeersLab(kinds) {
  return Lab.create({ sites: netnsLabSites(kinds), prefix: labPrefix, internet });
}

/**
 * Builds the lab (two sites per kind, as packages/matrix's netns run), runs the three stacks
 * over every pair of `kinds` one after the other with the same per-pair connect timeout, and
 * returns one report. Needs root.
 */
async function runPeers({
  kinds = allKinds,
  timeoutMs = 30_000,
  upgradeWaitMs = 16_000,
  concurrency = 4,
  stacks = ['node-network', 'libp2p', 'hyperdht'],
  log = (line) => process.stderr.write(`${line}\n`),
} = {}) {
  const can = await canRunNetlab();
  if (!can.ok) throw new Error(`peers bench needs network namespaces: ${can.reason}`);
  const t0 = performance.now();
  const lab = await createPeersLab(kinds);
  const out = {};
  try {
    log(
      `lab ${lab.prefix}: ${lab.sites.size} sites in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const opts = { kinds, timeoutMs, upgradeWaitMs, concurrency, log };
    if (stacks.includes('node-network')) {
      const r = await runNetnsMatrix({ kinds, lab, connectTimeoutTime: timeoutMs, concurrency });
      out['node-network'] = {
        pairs: r.pairs,
        summary: summary(r.pairs),
        nat: r.nat,
        wallMs: r.wallMs,
      };
      log(`node-network: ${r.summary.connected}/${r.summary.pairs}`);
      await resetNats(lab);
    }
    if (stacks.includes('libp2p')) {
      out.libp2p = await runLibp2p(lab, opts);
      await resetNats(lab);
    }
    if (stacks.includes('hyperdht')) out.hyperdht = await runHyperdht(lab, opts);
  } finally {
    await lab.destroy();
  }
  return {
    lab: { prefix: labPrefix, internet, kinds: [...kinds] },
    timeoutMs,
    upgradeWaitMs,
    concurrency,
    versions: versions(),
    stacks: out,
    wallMs: performance.now() - t0,
  };
}

export { runPeers, runLibp2p, runHyperdht, createPeersLab, internet, labPrefix };
