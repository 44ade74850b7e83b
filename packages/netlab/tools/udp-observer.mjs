// A reflexive-address observer for lab tests (runs inside a namespace).
// Usage: node udp-observer.mjs PORT ALT_PORT IP...
// Answers every datagram with "ip:port" of its source. "fwd IP PORT [SRCIP]" makes it send "unsolicited"
// to IP:PORT from ALT_PORT on the first IP, or from port PORT on SRCIP (an address never contacted).
import dgram from 'node:dgram';
const [port, altPort, ...ips] = process.argv.slice(2);
const sockets = new Map();
for (const ip of ips) {
  for (const p of [Number(port), Number(altPort)]) {
    const s = dgram.createSocket('udp4');
    s.bind(p, ip);
    sockets.set(`${ip}:${p}`, s);
    s.on('message', (msg, rinfo) => {
      const text = msg.toString();
      if (text.startsWith('fwd ')) {
        const [, dip, dport, srcIp] = text.split(' ');
        const from =
          srcIp != null ? sockets.get(`${srcIp}:${port}`) : sockets.get(`${ips[0]}:${altPort}`);
        from?.send(`unsolicited from ${srcIp ?? 'other port'}`, Number(dport), dip);
        return;
      }
      s.send(`${rinfo.address}:${rinfo.port}`, rinfo.port, rinfo.address);
    });
  }
}
process.stdout.write('ready\n');
