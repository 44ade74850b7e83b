// A reflexive-address observer for lab tests (runs inside a namespace).
// Usage: node udp-observer.mjs PORT ALT_PORT IP...   (IPv4 and IPv6 addresses both work)
// Answers every datagram with the "ip port" of its source. "fwd IP PORT [SRCIP]" makes it send
// "unsolicited" to IP:PORT from ALT_PORT on the first IP, or from PORT on SRCIP (never contacted).
import dgram from 'node:dgram';
import net from 'node:net';
const [port, altPort, ...ips] = process.argv.slice(2);
const sockets = new Map();
for (const ip of ips) {
  for (const p of [Number(port), Number(altPort)]) {
    const s = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    s.bind(p, ip);
    sockets.set(`${ip}|${p}`, s);
    s.on('message', (msg, rinfo) => {
      const text = msg.toString();
      if (text.startsWith('fwd ')) {
        const [, dip, dport, srcIp] = text.split(' ');
        const from =
          srcIp != null ? sockets.get(`${srcIp}|${port}`) : sockets.get(`${ips[0]}|${altPort}`);
        from?.send(`unsolicited from ${srcIp ?? 'other port'}`, Number(dport), dip);
        return;
      }
      s.send(`${rinfo.address} ${rinfo.port}`, rinfo.port, rinfo.address);
    });
  }
  // A TCP echo of the peer's address too, for firewall and proxy checks.
  net.createServer((c) => c.end(`${c.remoteAddress} ${c.remotePort}\n`)).listen(Number(port), ip);
}
process.stdout.write('ready\n');
