// The JSON-lines protocol of netlab's ControlledProcess, for the peers' agents: one request per
// stdin line {"id","cmd","args"}, one reply per stdout line {"id","result"} or {"id","error"},
// events as {"event",...}; anything else (their logs) goes to stderr.
import readline from 'node:readline';

const send = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function errorText(e) {
  if (e == null) return String(e);
  const code = e.code != null ? `${e.code}: ` : '';
  const name = e.name != null && e.name !== 'Error' ? `${e.name}: ` : '';
  return `${name}${code}${e.message ?? String(e)}`;
}

/** Answers `commands` from stdin; `stop` runs on SIGTERM, end of stdin or the `stop` command. */
function serve(commands, stop) {
  let stopping = null;
  const stopOnce = () => {
    stopping ??= Promise.race([
      Promise.resolve().then(stop),
      new Promise((r) => setTimeout(r, 3_000)),
    ]).finally(() => process.exit(0));
    return stopping;
  };
  const all = { ...commands, stop: async () => (setImmediate(stopOnce), true) };
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      return;
    }
    const handler = all[req.cmd];
    if (handler == null) return send({ id: req.id, error: `unknown command ${req.cmd}` });
    Promise.resolve()
      .then(() => handler(req.args ?? {}))
      .then(
        (result) => send({ id: req.id, result }),
        (e) => send({ id: req.id, error: errorText(e) }),
      );
  });
  process.once('SIGTERM', stopOnce);
  process.stdin.once('end', stopOnce);
}

/** libp2p 3 needs Promise.withResolvers (Node 22); Node 20 gets a shim. */
function shimWithResolvers() {
  if (typeof Promise.withResolvers === 'function') return;
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export { send, serve, errorText, shimWithResolvers, sleep };
