import net from 'node:net';
import fs from 'node:fs';

/** One request on the control socket: a command and its arguments. */
type ControlRequest = { command: string; args?: Record<string, unknown> };

/** A request line longer than this is refused (the connection closes). */
const maxRequestLength = 65_536;
/** An answer longer than this is refused by `requestControl`. */
const maxAnswerLength = 32 * 1024 * 1024;

/** A parsed request line, or why it is not one. */
function parseControlRequest(line: string): ControlRequest | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { error: 'malformed request' };
  }
  const o = v as Record<string, unknown> | null;
  if (o == null || typeof o !== 'object' || Array.isArray(o) || typeof o.command !== 'string') {
    return { error: 'malformed request: want {"command": string, "args"?: object}' };
  }
  if (
    o.args !== undefined &&
    (o.args == null || typeof o.args !== 'object' || Array.isArray(o.args))
  ) {
    return { error: 'malformed request: args is not an object' };
  }
  return o.args !== undefined
    ? { command: o.command, args: o.args as Record<string, unknown> }
    : { command: o.command };
}

/**
 * The agent's local control channel: a Unix socket that answers one JSON
 * request line (`{"command", "args"?}`) with one JSON reply line
 * (`{"result"}` or `{"error"}`). `status`, `explain` and `dashboard` use it.
 */
function serveControl(
  path: string,
  handle: (request: ControlRequest) => Promise<unknown>,
): Promise<net.Server> {
  if (fs.existsSync(path)) fs.unlinkSync(path);
  const server = net.createServer((socket) => {
    let buf = '';
    let answered = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      if (answered) return;
      buf += chunk;
      if (buf.length > maxRequestLength) return socket.destroy();
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      answered = true;
      const request = parseControlRequest(buf.slice(0, nl));
      if ('error' in request) {
        socket.end(JSON.stringify({ error: request.error }) + '\n');
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

function requestControl(
  path: string,
  command: string,
  args?: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No answer from the agent at ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () =>
      socket.write(JSON.stringify(args != null ? { command, args } : { command }) + '\n'),
    );
    socket.on('data', (c) => {
      buf += c;
      if (buf.length > maxAnswerLength) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`The agent at ${path} answered more than ${maxAnswerLength} bytes`));
      }
    });
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

export { serveControl, requestControl, parseControlRequest };
export type { ControlRequest };
