// `pnpm bench`: runs every benchmark suite (or those named) and writes JSON
// results to benches/results/<suite>.json. Speed is measured here, never
// asserted in tests.
const suites = {
  transport: () => import('./suites/transport/transport.mjs'),
  netsim: () => import('./suites/netsim/scale.mjs'),
  quic: () => import('./suites/quic/quic.mjs'),
  nodegraph: () => import('./suites/nodegraph/nodegraph.mjs'),
  signalling: () => import('./suites/signalling/scale.mjs'),
  relay: () => import('./suites/relay/relay.mjs'),
  upnp: () => import('./suites/upnp/upnp.mjs'),
  mdns: () => import('./suites/mdns/mdns.mjs'),
  peers: () => import('./suites/peers/peers.mjs'),
};
// Long suites that run only when named (`pnpm bench peers`): a whole netns lab per stack.
const onlyWhenNamed = new Set(['peers']);
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const [name, load] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  if (wanted.length === 0 && onlyWhenNamed.has(name)) {
    console.log(`# ${name}: runs only when named (pnpm bench ${name})`);
    continue;
  }
  console.log(`# ${name}`);
  const { run } = await load();
  await run();
}
