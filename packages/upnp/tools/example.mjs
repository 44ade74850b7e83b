#!/usr/bin/env node
// Maps a UDP port on this machine's gateway, says where the internet reaches it, and removes the
// mapping again on exit: `node packages/upnp/tools/example.mjs [port]` (after a build).
import dgram from 'node:dgram';
import { PortMapper, events } from '@node-network/upnp';

const port = Number(process.argv[2] ?? 40000);
const socket = dgram.createSocket('udp4');
await new Promise((resolve) => socket.bind(port, resolve));
socket.on('message', (msg, from) => console.log(`${from.address}:${from.port} says ${msg}`));

const mapper = new PortMapper({ config: { lifetimeSeconds: 600 } });
mapper.addEventListener(events.EventPortMapperAttempt.name, (e) => {
  const a = e.detail;
  console.log(
    `${a.method} ${a.action}: ${a.outcome} in ${a.durationMs} ms${a.error ? ` (${a.error.message})` : ''}`,
  );
});
mapper.addEventListener(events.EventPortMapperExternalAddressChanged.name, (e) =>
  console.log(`external address: ${e.detail.current}`),
);
await mapper.start(); // at most about a second, whatever the gateway does
try {
  const m = await mapper.map({ internalPort: port, protocol: 'udp' });
  console.log(
    `reachable at ${m.externalAddress}:${m.externalPort} by ${m.method} for ${m.lifetimeSeconds} s`,
  );
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.HOLD_MS ?? 1000)));
} catch (e) {
  console.log(`no mapping: ${e.name}: ${e.message}`);
} finally {
  await mapper.stop(); // deletes the mapping on the gateway
  socket.close();
}
