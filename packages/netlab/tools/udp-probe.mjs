// Measures a NAT from behind it (runs inside a namespace) and prints JSON:
// { seenBy: [mapping seen by observer 1, by observer 2], otherPort: bool, otherIp: bool }
// Usage: node udp-probe.mjs LOCAL_PORT OBS1_IP:PORT OBS2_IP:PORT UNCONTACTED_IP
import dgram from 'node:dgram';
const [localPort, o1, o2, uncontacted] = process.argv.slice(2);
const s = dgram.createSocket('udp4');
await new Promise((r) => s.bind(Number(localPort), r));
const next = (ms = 1000) =>
  new Promise((resolve) => {
    const t = setTimeout(() => {
      s.off('message', on);
      resolve(undefined);
    }, ms);
    const on = (m) => {
      clearTimeout(t);
      s.off('message', on);
      resolve(m.toString());
    };
    s.on('message', on);
  });
const ask = async (target) => {
  const [ip, p] = target.split(':');
  const reply = next();
  s.send('hi', Number(p), ip);
  return reply;
};
const seen1 = await ask(o1);
const seen2 = await ask(o2);
let otherPort = false;
let otherIp = false;
if (seen1 != null) {
  const [mip, mport] = seen1.split(':');
  const [ip, p] = o1.split(':');
  let reply = next();
  s.send(`fwd ${mip} ${mport}`, Number(p), ip);
  otherPort = (await reply) != null;
  reply = next();
  s.send(`fwd ${mip} ${mport} ${uncontacted}`, Number(p), ip);
  otherIp = (await reply) != null;
}
process.stdout.write(
  JSON.stringify({ seenBy: [seen1 ?? null, seen2 ?? null], otherPort, otherIp }) + '\n',
);
s.close();
