import type { ControlledProcess as ControlledProcessType, LabSite } from '@node-network/netlab';
import type { NATClassification } from '@node-network/signalling';
import type { TransferResult } from './transfer.js';
import type { Kind, KindNat, MatrixReport, PairResult } from './types.js';
import fs from 'node:fs';
import path from 'node:path';
import { formatAddress } from '@node-network/network-interface';
import { fileURLToPath } from 'node:url';
import { Lab, ControlledProcess } from '@node-network/netlab';
import { natSummary } from './utils.js';
import { allPairs, kinds as allKinds, summarise } from './types.js';

/** The built agent (from src/ or dist/ alike: the package's dist/bin/agent.js). */
const agentScript = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'dist',
  'bin',
  'agent.js',
);
const helperPort = 1314;
const httpRelayPort = 8080;
const probePort = 3478;

type Agent = { proc: ControlledProcessType; nodeId: string };

async function startAgent(lab: Lab, ns: string, config: object): Promise<Agent> {
  const proc = new ControlledProcess(
    lab.spawn(ns, [process.execPath, agentScript, JSON.stringify(config)]),
  );
  const ready = await proc
    .waitForEvent((e) => e.event === 'ready', 20_000)
    .catch((e) => {
      throw new Error(`Agent in ${ns} did not start: ${(e as Error).message}\n${proc.stderr}`);
    });
  return { proc, nodeId: String(ready.nodeId) };
}

/** What a site's host can bind: its families. */
function listenOf(site: LabSite): Array<{ host: string }> {
  if (site.kind === 'ipv6-only') return [{ host: '::' }];
  if (site.kind === 'open') return [{ host: '0.0.0.0' }, { host: '::' }];
  return [{ host: '0.0.0.0' }];
}

/** Runs `tasks` with at most `n` at a time, keeping their order in the result. */
async function bounded<T>(n: number, tasks: Array<() => Promise<T>>): Promise<Array<T>> {
  const out: Array<T> = new Array(tasks.length);
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

/** The lab's sites for `kinds`: `<kind>-a` dials, `<kind>-b` is dialled. */
function netnsLabSites(kinds: ReadonlyArray<Kind>): Array<{ name: string; kind: Kind }> {
  return kinds.flatMap((k) => [
    { name: `${k}-a`, kind: k },
    { name: `${k}-b`, kind: k },
  ]);
}

/**
 * The matrix on real kernel NATs: one lab with two sites per kind (`<kind>-a`
 * dials, `<kind>-b` is dialled), six single-stack helper nodes in the lab's
 * observer namespace (three IPv4, three IPv6) as seeds and observers, and a
 * real node-network agent (QUIC) in every site's host. Each site's node
 * bootstraps (connects to the helpers it can reach, learns its NAT), then
 * every pair connects by NodeId only, a few pairs at a time.
 */
async function runNetnsMatrix({
  kinds = allKinds,
  concurrency = 4,
  connectTimeoutTime = 20_000,
  transfers = [],
  transferBytes = 64e6,
  lab: givenLab,
}: {
  kinds?: ReadonlyArray<Kind>;
  /**
   * Run in this lab (built with `netnsLabSites(kinds)`; the caller destroys
   * it) instead of building one: other stacks can then face the same NATs.
   */
  lab?: Lab;
  concurrency?: number;
  connectTimeoutTime?: number;
  /** Pairs that, once connected, send `transferBytes` from a to b and check what arrived. */
  transfers?: ReadonlyArray<[Kind, Kind]>;
  transferBytes?: number;
} = {}): Promise<MatrixReport & { transfers: Array<{ a: Kind; b: Kind } & TransferResult> }> {
  const t0 = performance.now();
  if (!fs.existsSync(agentScript)) {
    throw new Error(`${agentScript} is missing: build first (pnpm build)`);
  }
  const pairs = allPairs(kinds);
  const lab = givenLab ?? (await Lab.create({ sites: netnsLabSites(kinds) }));
  const agents: Array<Agent> = [];
  try {
    const helperHosts = [...lab.observerIps, ...lab.observerIpv6s];
    const helpers = await Promise.all(
      helperHosts.map((host) => {
        // The probe server answers from another port, and from the next helper's IP (same family).
        const sameFamily = helperHosts.filter((h) => h.includes(':') === host.includes(':'));
        const otherHost = sameFamily[(sameFamily.indexOf(host) + 1) % sameFamily.length];
        return startAgent(lab, lab.observerNs, {
          listen: [{ host, port: helperPort }],
          natProbeServers: [{ host, port: probePort, otherPort: probePort + 1, otherHost }],
        });
      }),
    );
    agents.push(...helpers);
    const seedNodes: Record<string, Array<string>> = {};
    for (const [i, h] of helpers.entries()) {
      const host = helperHosts[i];
      seedNodes[h.nodeId] = [formatAddress({ host, port: helperPort })];
    }
    // A dual-stack node: the relay between IPv4-only and IPv6-only nodes.
    const dual = [lab.dualStackIps.ipv4, lab.dualStackIps.ipv6];
    const dualAgent = await startAgent(lab, lab.observerNs, {
      listen: dual.map((host) => ({ host, port: helperPort })),
      // And the HTTP relay (WebSocket on TCP) for hosts whose UDP is blocked.
      httpRelay: { listen: { host: lab.dualStackIps.ipv4, port: httpRelayPort } },
    });
    agents.push(dualAgent);
    seedNodes[dualAgent.nodeId] = dual.map((host) => formatAddress({ host, port: helperPort }));
    const nodes = new Map<string, Agent>();
    await Promise.all(
      [...lab.sites.values()].map(async (site) => {
        const a = await startAgent(lab, site.hostNs, {
          listen: listenOf(site),
          seedNodes,
          ...(site.proxy != null
            ? {
                httpRelay: {
                  relays: [`${dualAgent.nodeId}@ws://${lab.dualStackIps.ipv4}:${httpRelayPort}`],
                  proxy: `http://${site.proxy.host}:${site.proxy.port}`,
                },
              }
            : {}),
        });
        agents.push(a);
        nodes.set(site.name, a);
      }),
    );
    const natByKind = new Map<Kind, { ipv4: NATClassification; ipv6: NATClassification }>();
    await bounded(
      6,
      [...nodes.entries()].map(([name, a]) => async () => {
        const nat = (await a.proc.request('bootstrap', { timeoutMs: 3_000 }, 60_000)) as {
          ipv4: NATClassification;
          ipv6: NATClassification;
        };
        if (name.endsWith('-a')) natByKind.set(name.slice(0, -2) as Kind, nat);
      }),
    );
    // Hosts whose UDP is blocked are reachable once their HTTP relay connection is up.
    for (const [name, a] of nodes) {
      if (lab.sites.get(name)?.proxy == null) continue;
      for (let i = 0; i < 40; i++) {
        const s = (await a.proc.request('status', {}, 10_000)) as {
          connections: Array<{ path: string }>;
        };
        if (s.connections.some((c) => c.path === 'http-relay')) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const results = await bounded(
      concurrency,
      pairs.map(([a, b]) => async (): Promise<PairResult> => {
        const from = nodes.get(`${a}-a`)!;
        const to = nodes.get(`${b}-b`)!;
        const started = Date.now();
        const r = (await from.proc.request(
          'connect',
          { nodeId: to.nodeId, timeoutMs: connectTimeoutTime },
          connectTimeoutTime + 10_000,
        )) as Omit<PairResult, 'a' | 'b'>;
        if (!r.connected && process.env.MATRIX_DEBUG != null) {
          const s = (await to.proc.request('status', {}, 10_000)) as {
            connections: Array<{ path: string; nodeId: string }>;
            audit: Array<{ kind: string; detail?: string; time: number }>;
          };
          const fs2 = (await from.proc.request('status', {}, 10_000)) as {
            connections: Array<{ path: string; nodeId: string }>;
          };
          process.stderr.write(
            `DEBUG ${a}->${b}: dialler connections ${JSON.stringify(fs2.connections.map((c) => `${c.path} ${c.nodeId.slice(0, 8)}`))}; target connections ${JSON.stringify(s.connections.map((c) => `${c.path} ${c.nodeId.slice(0, 8)}`))}\n${s.audit
              .filter(
                (x) => x.kind === 'relay' || x.kind === 'signal' || x.kind === 'connection-close',
              )
              .slice(-12)
              .map((x) => `  ${x.time} ${x.kind} ${x.detail ?? ''}`)
              .join('\n')}\n`,
          );
        }
        if (process.env.MATRIX_TRACE != null) {
          process.stderr.write(await pairTimeline(`${a}->${b}`, from, to, started));
        }
        return { a, b, ...r };
      }),
    );
    const transferResults: Array<{ a: Kind; b: Kind } & TransferResult> = [];
    for (const [a, b] of transfers) {
      const r = (await nodes
        .get(`${a}-a`)!
        .proc.request(
          'transfer',
          { nodeId: nodes.get(`${b}-b`)!.nodeId, bytes: transferBytes },
          300_000,
        )) as TransferResult;
      transferResults.push({ a, b, ...r });
    }
    const nat: Array<KindNat> = kinds.map((k) => {
      const n = natByKind.get(k)!;
      return { kind: k, ipv4: natSummary(n.ipv4), ipv6: natSummary(n.ipv6) };
    });
    return {
      lab: 'netns',
      pairs: results,
      summary: summarise(results),
      transfers: transferResults,
      nat,
      wallMs: performance.now() - t0,
    };
  } finally {
    await Promise.all(agents.map((a) => a.proc.stop().catch(() => {})));
    if (givenLab == null) await lab.destroy();
  }
}

type TraceRecord = {
  time: number;
  kind: string;
  nodeId?: string;
  address?: string;
  outcome?: string;
  durationMs?: number;
  detail?: string;
  error?: { message: string };
};

/**
 * One pair's connect as both audit trails tell it (`MATRIX_TRACE`): every
 * record either side made about the other since `started`, in time order,
 * in ms from `started` (the agents share the host's clock).
 */
async function pairTimeline(
  label: string,
  from: Agent,
  to: Agent,
  started: number,
): Promise<string> {
  const records = async (agent: Agent, peer: string) =>
    (
      (await agent.proc.request('status', {}, 10_000)) as { audit: Array<TraceRecord> }
    ).audit.filter((x) => x.time >= started && x.nodeId === peer);
  const lines = [
    ...(await records(from, to.nodeId)).map((x) => ({ side: 'a', x })),
    ...(await records(to, from.nodeId)).map((x) => ({ side: 'b', x })),
  ]
    .sort((p, q) => p.x.time - q.x.time)
    .map(
      ({ side, x }) =>
        `  ${side} +${Math.round(x.time - started)
          .toString()
          .padStart(5)} ${x.kind} ${x.outcome ?? ''} ${x.address ?? ''}${
          x.durationMs != null ? ` (${Math.round(x.durationMs)} ms)` : ''
        } ${(x.detail ?? '').slice(0, 160)}${x.error != null ? ` [${x.error.message.slice(0, 200)}]` : ''}`,
    );
  return `TRACE ${label}\n${lines.join('\n')}\n`;
}

export { runNetnsMatrix, netnsLabSites, startAgent, helperPort, probePort };
