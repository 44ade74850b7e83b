// Connects to HOST PORT over TCP, directly or through an HTTP CONNECT proxy, and prints JSON
// { ok: bool, answer?: string, error?: string }. Usage: node tcp-probe.mjs HOST PORT [PROXY_HOST PROXY_PORT]
import net from 'node:net';
const [host, port, proxyHost, proxyPort] = process.argv.slice(2);
const done = (o) => {
  process.stdout.write(JSON.stringify(o) + '\n');
  process.exit(0);
};
setTimeout(() => done({ ok: false, error: 'timeout' }), 3000);
const target = proxyHost != null ? [Number(proxyPort), proxyHost] : [Number(port), host];
const c = net.connect(...target);
let buf = '';
c.on('error', (e) => done({ ok: false, error: e.message }));
c.on('connect', () => {
  if (proxyHost != null)
    c.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
});
c.on('data', (d) => {
  buf += d.toString();
  if (proxyHost != null && !buf.includes('\r\n\r\n')) return;
  if (proxyHost != null && !/^HTTP\/1\.[01] 200/.test(buf))
    return done({ ok: false, error: buf.split('\r\n')[0] });
  const body = proxyHost != null ? buf.slice(buf.indexOf('\r\n\r\n') + 4) : buf;
  if (body.includes('\n')) done({ ok: true, answer: body.trim() });
});
