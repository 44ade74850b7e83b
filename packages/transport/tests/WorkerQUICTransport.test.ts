import fs from 'node:fs';
import { describe, test, expect, afterEach } from '@jest/globals';
import { errors as baseErrors } from '@node-network/network-interface';
import { testConnectionCompliance } from '@node-network/network-interface/compliance';
import * as identity from '@node-network/network-identity';
import type { Address, Connection } from '@node-network/network-interface';
import type { AuditRecord } from '../src/events.js';
import type WorkerQUICTransport from '../src/worker/WorkerQUICTransport.js';
import type WorkerQUICConnection from '../src/worker/WorkerQUICConnection.js';
import { toAddress } from '../src/addresses.js';
import * as events from '../src/events.js';
import * as errors from '../src/errors.js';
import UDPDatagramPort from '../src/UDPDatagramPort.js';
import { startTransport, sleep } from './utils.js';
import type { Engine, TestTransport } from './utils.js';

// The contract, with the worker engine as the dialer and as the listener. Never two worker engines
// in one process: @matrixai/quic's native module aborts it (see the README, "Worker engine").
const pairs: Array<[Engine, Engine]> = [
  ['worker', 'main'],
  ['main', 'worker'],
];
for (const host of ['127.0.0.1', '::1']) {
  for (const [dialerEngine, listenerEngine] of pairs) {
    testConnectionCompliance(
      `WorkerQUICTransport on ${host} (dialer ${dialerEngine}, listener ${listenerEngine})`,
      {
        createPair: async () => {
          const dialer = await startTransport({ host, engine: dialerEngine });
          const listener = await startTransport({ host, engine: listenerEngine });
          return {
            dialer,
            listener,
            listenerAddress: listener.localAddresses[0],
            deadAddress: toAddress(host, 9),
            otherNodeId: identity.nodeIdFromPublicKey(identity.generateKeyPair().publicKey),
            destroy: async () => {
              await dialer.stop();
              await listener.stop();
            },
          };
        },
      },
    );
  }
}

type Internals = {
  slot?: {
    engine?: {
      fail(): void;
      kill(): Promise<void>;
      worker: { emit(e: string, v: unknown): void };
    };
  };
};

function engineOf(t: WorkerQUICTransport) {
  const e = (t as unknown as Internals).slot?.engine;
  if (e == null) throw new Error('the worker is not running');
  return e;
}

function nextInbound(t: TestTransport): Promise<Connection> {
  return new Promise((resolve) => {
    const off = t.onConnection((c) => {
      off();
      resolve(c);
    });
  });
}

function echo(c: Connection): void {
  c.onStream((s) => void s.readable.pipeTo(s.writable).catch(() => {}));
}

/** Resolves with what `p` settles to, or fails the test after `ms` (no hang). */
function settles<T>(p: Promise<T>, ms = 5_000): Promise<{ ok: T } | { error: unknown }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`did not settle in ${ms} ms`)), ms);
    p.then(
      (ok) => {
        clearTimeout(t);
        resolve({ ok });
      },
      (error) => {
        clearTimeout(t);
        resolve({ error });
      },
    );
  });
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** Nice value of each thread of this process (Linux), by thread id. */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name (in parentheses): state is field 3, nice field 19.
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

describe('WorkerQUICTransport', () => {
  const started: Array<TestTransport> = [];
  const start = async (...args: Parameters<typeof startTransport>) => {
    const t = await startTransport(...args);
    started.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((t) => t.stop()));
  });

  test('connections carry the metadata of the main-thread engine', async () => {
    const a = (await start({ engine: 'worker' })) as WorkerQUICTransport;
    const b = await start({ engine: 'main' });
    const inbound = nextInbound(b);
    const c = (await a.dial(b.nodeId, b.localAddresses[0])) as WorkerQUICConnection;
    const s = await inbound;
    expect(c.protocol).toBe('node-network');
    expect(c.initiator).toBe('local');
    expect(c.localAddress.port).toBe(a.localAddresses[0].port);
    expect(s.remoteAddress.port).toBe(a.localAddresses[0].port);
    expect(identity.nodeIdEquals(c.localNodeId, a.nodeId)).toBe(true);
    expect(a.certificateChainDER).toHaveLength(1);
    expect(c.openStreams).toBe(0);
    const st = await c.openStream();
    expect(c.openStreams).toBe(1);
    st.cancel();
    await waitFor(() => c.openStreams === 0);
    await expect(a.dial(a.nodeId, a.localAddresses[0])).rejects.toBeInstanceOf(
      baseErrors.ErrorConnectionDial,
    );
  });

  const linux = process.platform === 'linux' ? test : test.skip;
  linux(
    'the worker thread runs workerNice steps below the main thread, which keeps its own',
    async () => {
      const before = threadNices();
      const base = before.get(process.pid)!;
      const a = (await start({
        engine: 'worker',
        worker: { workerNice: 7 },
      })) as WorkerQUICTransport;
      const lowered = [...threadNices()].filter(
        ([tid, nice]) => !before.has(tid) && nice === base + 7,
      );
      expect(lowered).toHaveLength(1);
      expect(threadNices().get(process.pid)).toBe(base);
      // A restarted worker lowers itself again.
      const [[tid]] = lowered;
      engineOf(a).fail();
      await waitFor(() => {
        const now = [...threadNices()].filter(
          ([t, nice]) => t !== tid && !before.has(t) && nice === base + 7,
        );
        return now.length === 1 && !threadNices().has(tid);
      });
      await a.stop();
      const b = (await start({
        engine: 'worker',
        worker: { workerNice: 0 },
      })) as WorkerQUICTransport;
      expect([...threadNices()].filter(([t, nice]) => !before.has(t) && nice !== base)).toEqual([]);
      expect(b.options.workerNice).toBe(0);
    },
  );

  test('workerNice outside 0-19 or not an integer is refused at construction', async () => {
    const { default: WorkerQUICTransportClass } =
      await import('../src/worker/WorkerQUICTransport.js');
    const keyPair = identity.generateKeyPair();
    for (const workerNice of [-1, 20, 1.5, Number.NaN]) {
      expect(
        () => new WorkerQUICTransportClass({ keyPair, network: 'testnet', workerNice }),
      ).toThrow(RangeError);
    }
  });

  test('audit records of the worker are re-dispatched on the main side', async () => {
    const a = (await start({ engine: 'worker', network: 'testnet' })) as WorkerQUICTransport;
    const outsider = await start({ engine: 'main', network: 'mainnet' });
    const audit: Array<AuditRecord> = [];
    a.addEventListener(events.EventAudit.name, (e) => audit.push((e as events.EventAudit).detail));
    await expect(
      outsider.dial(a.nodeId, a.localAddresses[0], { timer: 5000 }),
    ).rejects.toBeInstanceOf(baseErrors.ErrorConnectionDial);
    await waitFor(() => audit.some((r) => r.kind === 'inbound-rejected'));
  });

  test('punches leave from the node socket in the worker', async () => {
    const a = (await start({ engine: 'worker' })) as WorkerQUICTransport;
    const port = await UDPDatagramPort.bind({ host: '127.0.0.1' });
    try {
      const heard = new Promise<Address>((resolve) => port.onDatagram((_d, from) => resolve(from)));
      await a.sendPunch(port.localAddress, new Uint8Array([0, 1, 2]));
      expect((await heard).port).toBe(a.localAddresses[0].port);
      await expect(a.sendPunch(port.localAddress, new Uint8Array(21))).rejects.toBeInstanceOf(
        errors.ErrorTransportPunch,
      );
    } finally {
      await port.close();
    }
  });

  test('a worker that throws mid-transfer: typed errors everywhere, no hang, restarted on its port', async () => {
    const a = (await start({
      engine: 'worker',
      worker: { restartDelay: 50 },
    })) as WorkerQUICTransport;
    const b = await start({ engine: 'main' });
    const homePort = a.localAddresses[0].port;
    const crashes: Array<{ error: Error; restarting: boolean }> = [];
    a.addEventListener(events.EventWorkerQUICTransportCrash.name, (e) =>
      crashes.push((e as events.EventWorkerQUICTransportCrash).detail),
    );
    b.onConnection(echo);
    const c = await a.dial(b.nodeId, b.localAddresses[0]);
    const closed = new Promise<Error | undefined>((resolve) => c.onClose(resolve));
    const stream = await c.openStream();
    let sent = 0;
    const writer = stream.writable.getWriter();
    const writing = (async () => {
      const chunk = new Uint8Array(32 * 1024);
      for (;;) {
        await writer.write(chunk);
        sent += chunk.byteLength;
      }
    })();
    let echoed = 0;
    const reader = stream.readable.getReader();
    const reading = (async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) return 'ended';
        echoed += r.value.byteLength;
      }
    })();
    await waitFor(() => echoed > 1024 * 1024);
    // A dial in flight when the worker dies.
    const dialling = a.dial(b.nodeId, toAddress('127.0.0.1', 9), { timer: 10_000 });
    // An uncaught error in the worker thread.
    engineOf(a).fail();

    const w = await settles(writing);
    const r = await settles(reading);
    const d = await settles(dialling);
    const reason = await settles(closed);
    expect('error' in w && w.error).toBeInstanceOf(errors.ErrorTransportWorkerCrashed);
    expect('error' in r && r.error).toBeInstanceOf(errors.ErrorTransportWorkerCrashed);
    expect('error' in d && d.error).toBeInstanceOf(errors.ErrorDialAddressFailed);
    expect('error' in d && (d.error as Error).cause).toBeInstanceOf(
      errors.ErrorTransportWorkerCrashed,
    );
    expect('ok' in reason && reason.ok).toBeInstanceOf(errors.ErrorTransportWorkerCrashed);
    expect(c.closed).toBe(true);
    await expect(c.openStream()).rejects.toBeInstanceOf(baseErrors.ErrorConnectionClosed);
    expect(sent).toBeGreaterThan(0);
    expect(crashes).toHaveLength(1);
    expect(crashes[0].restarting).toBe(true);

    // Restarted on the same port: dials work both ways.
    const again = await a.dial(b.nodeId, b.localAddresses[0], { timer: 10_000 });
    expect(again.localAddress.port).toBe(homePort);
    expect(a.localAddresses[0].port).toBe(homePort);
    const st = await again.openStream();
    const data = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const [, back] = await Promise.all([
      (async () => {
        const ww = st.writable.getWriter();
        await ww.write(data);
        await ww.close();
      })(),
      new Response(st.readable).arrayBuffer(),
    ]);
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    const fromB = nextInbound(a);
    await b.dial(a.nodeId, toAddress('127.0.0.1', homePort), { timer: 10_000 });
    expect(identity.nodeIdEquals((await fromB).remoteNodeId, b.nodeId)).toBe(true);
  });

  test('a malformed message from the worker is a typed error, not a crash of the main thread', async () => {
    const a = (await start({
      engine: 'worker',
      worker: { restartDelay: 50 },
    })) as WorkerQUICTransport;
    const b = await start({ engine: 'main' });
    const hostile: Array<unknown> = [
      'not a batch',
      [{ t: 'data', s: -1, chunks: [] }],
      [{ t: 'conn', conn: { c: 1, remoteNodeId: new Uint8Array(3) } }],
      [{ t: 'credit', s: 1, n: 'lots' }],
      [{ t: 'launch-missiles' }],
    ];
    for (const message of hostile) {
      const c = await a.dial(b.nodeId, b.localAddresses[0], { timer: 10_000 });
      const closed = new Promise<Error | undefined>((resolve) => c.onClose(resolve));
      const crashed = new Promise<Error>((resolve) =>
        a.addEventListener(
          events.EventWorkerQUICTransportCrash.name,
          (e) => resolve((e as events.EventWorkerQUICTransportCrash).detail.error),
          { once: true },
        ),
      );
      engineOf(a).worker.emit('message', message);
      const reason = await closed;
      expect(reason).toBeInstanceOf(errors.ErrorTransportWorkerCrashed);
      expect((reason as Error).cause).toBeInstanceOf(errors.ErrorTransportWorkerProtocol);
      expect(await crashed).toBeInstanceOf(errors.ErrorTransportWorkerCrashed);
    }
    // Still a working transport.
    const c = await a.dial(b.nodeId, b.localAddresses[0], { timer: 10_000 });
    expect(c.closed).toBe(false);
  });

  test('stopping with open streams fails pending reads and writes', async () => {
    const a = (await start({ engine: 'worker' })) as WorkerQUICTransport;
    const b = await start({ engine: 'main' });
    const inbound = nextInbound(b);
    const c = await a.dial(b.nodeId, b.localAddresses[0]);
    (await inbound).onStream(() => {});
    const st = await c.openStream();
    const reading = settles(st.readable.getReader().read());
    await a.stop();
    const r = await reading;
    expect('error' in r).toBe(true);
    expect(c.closed).toBe(true);
  });
});
