// Port mapping against a real miniupnpd 2.3.1 (UPnP IGD, NAT-PMP, PCP) in a netlab (root only):
// a PortMapper in the lab host's namespace (packages/upnp/tools/agent.mjs, on the built package)
// starts with one method at a time and maps a UDP port, BENCH_UPNP_REPS times (20) per method.
// Discovery is `start()` (PCP ANNOUNCE; NAT-PMP external address request; UPnP SSDP M-SEARCH, the
// device description and GetExternalIPAddress), mapping is `map()` (PCP MAP; NAT-PMP map and
// external address requests; UPnP AddAnyPortMapping and GetExternalIPAddress), removal is `stop()`
// deleting the one mapping. Times are measured inside the agent (performance.now), so process
// start-up is not in them. Writes benches/results/upnp.json.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, ControlledProcess, canRunNetlab } from '../../../packages/netlab/dist/index.js';
import { median, writeResults } from '../../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const agentScript = path.join(here, '..', '..', '..', 'packages', 'upnp', 'tools', 'agent.mjs');
const REPS = Number(process.env.BENCH_UPNP_REPS ?? 20);

const round = (x) => Math.round(x * 100) / 100;
const stats = (xs) => ({
  p50: round(median(xs)),
  max: round(Math.max(...xs)),
  min: round(Math.min(...xs)),
});

async function run() {
  const can = await canRunNetlab();
  if (!can.ok) {
    console.log(`upnp: skipped (${can.reason})`);
    return;
  }
  const lab = await Lab.create({ sites: [{ name: 'home', kind: 'upnp' }] });
  try {
    const site = lab.sites.get('home');
    const agent = new ControlledProcess(lab.spawn(site.hostNs, [process.execPath, agentScript]));
    const methods = {};
    let port = 42000;
    for (const method of ['upnp', 'natpmp', 'pcp']) {
      const discover = [];
      const map = [];
      const remove = [];
      for (let i = 0; i < REPS; i++) {
        const s = await agent.request('start', { config: { methods: [method] } });
        if (!s.gateways[0].available) {
          throw new Error(`${method} not found: ${JSON.stringify(s.gateways[0].error)}`);
        }
        discover.push(s.ms);
        const m = await agent.request('map', {
          internalPort: port++,
          protocol: 'udp',
          lifetimeSeconds: 600,
        });
        if (m.method !== method || m.externalAddress !== site.publicIp) {
          throw new Error(`unexpected mapping ${JSON.stringify(m)}`);
        }
        map.push(m.ms);
        remove.push((await agent.request('stop')).ms);
      }
      methods[method] = { discoverMs: stats(discover), mapMs: stats(map), stopMs: stats(remove) };
      console.log(
        `${method}: discover p50 ${methods[method].discoverMs.p50} ms (max ${methods[method].discoverMs.max}), map p50 ${methods[method].mapMs.p50} ms (max ${methods[method].mapMs.max}), stop p50 ${methods[method].stopMs.p50} ms`,
      );
    }
    // The default configuration: all three discovered in parallel, PCP used.
    const all = [];
    for (let i = 0; i < REPS; i++) {
      const s = await agent.request('start', {});
      all.push(s.ms);
      await agent.request('stop');
    }
    console.log(
      `default (pcp, natpmp, upnp in parallel): start p50 ${round(median(all))} ms (max ${round(Math.max(...all))})`,
    );
    await agent.stop();
    console.log(
      `wrote ${writeResults('upnp', {
        reps: REPS,
        gateway:
          'miniupnpd 2.3.1 (Debian 12 miniupnpd-iptables) in a netlab upnp site, one veth hop from the host',
        methods,
        defaultStartMs: stats(all),
      })}`,
    );
  } finally {
    await lab.destroy();
  }
}

export { run };
