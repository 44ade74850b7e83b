// Measures a NAT from behind it (runs inside a namespace) and prints JSON:
// { seenBy: ["ip:port" seen by observer 1, by observer 2], otherPort: bool, otherIp: bool }
// Usage: node udp-probe.mjs LOCAL_PORT OBS_PORT OBS1_IP OBS2_IP UNCONTACTED_IP
import dgram from 'node:dgram';
const [localPort, obsPort, o1, o2, uncontacted] = process.argv.slice(2);
const s = dgram.createSocket(o1.includes(':') ? 'udp6' : 'udp4');
s.on('error', () => {});
await new Promise((r) => s.bind(Number(localPort), r));
const next = (ms = 1000) =>
  new Promise((resolve) => {
    const on = (m) => {
      clearTimeout(t);
      s.off('message', on);
      resolve(m.toString());
    };
    const t = setTimeout(() => {
      s.off('message', on);
      resolve(undefined);
    }, ms);
    s.on('message', on);
  });
const ask = async (ip) => {
  const reply = next();
  s.send('hi', Number(obsPort), ip, () => {});
  return reply;
};
const fmt = (r) => {
  if (r == null) return null;
  const [ip, p] = r.split(' ');
  return ip.includes(':') ? `[${ip}]:${p}` : `${ip}:${p}`;
};
const seen1 = await ask(o1);
const seen2 = await ask(o2);
let otherPort = false;
let otherIp = false;
if (seen1 != null) {
  const [mip, mport] = seen1.split(' ');
  let reply = next();
  s.send(`fwd ${mip} ${mport}`, Number(obsPort), o1);
  otherPort = (await reply) != null;
  reply = next();
  s.send(`fwd ${mip} ${mport} ${uncontacted}`, Number(obsPort), o1);
  otherIp = (await reply) != null;
}
process.stdout.write(
  JSON.stringify({ seenBy: [fmt(seen1), fmt(seen2)], otherPort, otherIp }) + '\n',
);
s.close();
