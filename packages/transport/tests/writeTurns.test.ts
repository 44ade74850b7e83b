import Logger, { LogLevel } from '@matrixai/logger';
import * as identity from '@node-network/network-identity';
import QUICTransport from '../src/QUICTransport.js';
import { toAddress } from '../src/addresses.js';

const logger = new Logger('write turns test', LogLevel.SILENT);

describe('writes and the event loop (patched QUICStream)', () => {
  test('writers that never wait still let the event loop turn every 512 KiB (all streams together)', async () => {
    const make = () =>
      new QUICTransport({ keyPair: identity.generateKeyPair(), network: 'testnet', logger });
    const [a, b] = [make(), make()];
    await a.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
    await b.start({ listen: [{ host: '127.0.0.1', port: 0 }] });
    try {
      b.onConnection((c) =>
        c.onStream((s) => void s.readable.pipeTo(new WritableStream()).catch(() => {})),
      );
      const c = await a.dial(b.nodeId, toAddress('127.0.0.1', b.localAddresses[0].port));
      let written = 0;
      let done = false;
      // Bytes written between two turns of the event loop (setImmediate runs once per turn).
      const perTurn: Array<number> = [];
      let last = 0;
      const tick = () => {
        perTurn.push(written - last);
        last = written;
        if (!done) setImmediate(tick);
      };
      setImmediate(tick);
      const chunk = new Uint8Array(64 * 1024);
      await Promise.all(
        [0, 1, 2, 3].map(async () => {
          const w = (await c.openStream()).writable.getWriter();
          for (let i = 0; i < 128; i++) {
            await w.write(chunk);
            written += chunk.byteLength;
          }
          await w.close();
        }),
      );
      done = true;
      expect(written).toBe(4 * 128 * 64 * 1024);
      // 512 KiB, plus the chunks already past the check when the budget ran out (one per stream).
      expect(Math.max(...perTurn)).toBeLessThanOrEqual(512 * 1024 + 4 * chunk.byteLength);
      expect(perTurn.filter((n) => n > 0).length).toBeGreaterThanOrEqual(32);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
