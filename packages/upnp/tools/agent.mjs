#!/usr/bin/env node
// A PortMapper driven over JSON lines (netlab's ControlledProcess protocol):
// requests {"id","cmd","args"} on stdin, replies {"id","result"} or
// {"id","error"} on stdout, PortMapper events and received datagrams as
// {"event",...} lines; logs go to stderr. The netlab tests and the bench
// start it inside a lab host's network namespace. Runs the built package
// (dist): build first.
import readline from 'node:readline';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import Logger, { LogLevel, StreamHandler } from '@matrixai/logger';
import { PortMapper, events } from '@node-network/upnp';

const send = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const logger = new Logger('upnp-agent', LogLevel.WARN, [new StreamHandler()]);
let mapper;
const sockets = new Map();

const forward = {
  [events.EventPortMapperAttempt.name]: 'attempt',
  [events.EventPortMapperMapped.name]: 'mapped',
  [events.EventPortMapperRenewed.name]: 'renewed',
  [events.EventPortMapperRenewFailed.name]: 'renewFailed',
  [events.EventPortMapperUnmapped.name]: 'unmapped',
  [events.EventPortMapperExternalAddressChanged.name]: 'externalAddressChanged',
};

function errorText(e) {
  const code = e?.data?.code;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}${code != null ? ` [code ${code}]` : ''}`;
}

function plain(detail) {
  if (detail == null || typeof detail !== 'object') return detail;
  const out = {};
  for (const [k, v] of Object.entries(detail)) out[k] = v instanceof Error ? errorText(v) : v;
  return out;
}

const commands = {
  /** Creates and starts a PortMapper with `config`; resolves with what it found and how long it took. */
  start: async ({ config = {} }) => {
    mapper = new PortMapper({ config, logger });
    for (const [cls, name] of Object.entries(forward)) {
      mapper.addEventListener(cls, (e) =>
        send({ event: name, at: performance.now(), ...plain(e.detail) }),
      );
    }
    const t0 = performance.now();
    await mapper.start();
    return {
      ms: performance.now() - t0,
      gateways: mapper.gateways(),
      externalAddress: mapper.externalAddress(),
    };
  },
  map: async (req) => {
    const t0 = performance.now();
    const mapping = await mapper.map(req);
    return { ...mapping, ms: performance.now() - t0, at: performance.now() };
  },
  unmap: async (req) => mapper.unmap(req).then(() => true),
  mappings: async () => mapper.mappings(),
  externalAddress: async () => mapper.externalAddress() ?? null,
  stop: async () => {
    const t0 = performance.now();
    await mapper.stop();
    return { ms: performance.now() - t0 };
  },
  /** Binds a UDP socket on `port`; every datagram it receives becomes a `datagram` event. */
  bind: async ({ port }) => {
    const s = dgram.createSocket('udp4');
    s.on('message', (msg, r) =>
      send({ event: 'datagram', port, data: msg.toString(), from: `${r.address}:${r.port}` }),
    );
    await new Promise((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, '0.0.0.0', resolve);
    });
    sockets.set(port, s);
    return true;
  },
  exit: async () => {
    setImmediate(() => process.exit(0));
    return true;
  },
};

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  const handler = commands[req.cmd];
  if (handler == null) return send({ id: req.id, error: `unknown command ${req.cmd}` });
  handler(req.args ?? {}).then(
    (result) => send({ id: req.id, result: result ?? null }),
    (e) => send({ id: req.id, error: errorText(e) }),
  );
});
process.stdin.on('end', () => process.exit(0));
