import net from 'node:net';
import fs from 'node:fs';

/**
 * The agent's local control channel: a Unix socket that answers one JSON
 * request line with one JSON reply line. `status --json` reads it.
 */
function serveControl(
  path: string,
  handle: (request: { command: string }) => Promise<unknown>,
): Promise<net.Server> {
  if (fs.existsSync(path)) fs.unlinkSync(path);
  const server = net.createServer((socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buf += chunk;
      if (buf.length > 65536) return socket.destroy();
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      let request: { command: string };
      try {
        request = JSON.parse(buf.slice(0, nl));
      } catch {
        socket.end(JSON.stringify({ error: 'malformed request' }) + '\n');
        return;
      }
      handle(request).then(
        (result) => socket.end(JSON.stringify({ result }) + '\n'),
        (e) => socket.end(JSON.stringify({ error: (e as Error).message }) + '\n'),
      );
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

function requestControl(path: string, command: string, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No answer from the agent at ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify({ command }) + '\n'));
    socket.on('data', (c) => (buf += c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`Cannot reach the agent at ${path}: ${e.message}`));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const reply = JSON.parse(buf);
        if (reply.error != null) reject(new Error(reply.error));
        else resolve(reply.result);
      } catch {
        reject(new Error('Malformed answer from the agent'));
      }
    });
  });
}

export { serveControl, requestControl };
