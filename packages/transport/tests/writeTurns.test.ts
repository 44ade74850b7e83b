import { test as testProp, fc } from '@fast-check/jest';
import TurnBudget from '../src/turnBudget.js';
import { engines, startTransport } from './utils.js';
import { perTurn } from './fixtures/perTurn.js';

describe('writes and the event loop', () => {
  // The main-thread engine: the patched QUICStream's budget. The worker engine: the main side's
  // WorkerStream budget (its copies towards the worker), with the worker's QUICStream budget behind.
  test.each(engines)(
    'writers that never wait still let the event loop turn every 512 KiB, all streams together (%s engine)',
    async (engine) => {
      const a = await startTransport({ engine });
      const b = await startTransport({ engine: 'main' });
      try {
        b.onConnection((c) =>
          c.onStream((s) => void s.readable.pipeTo(new WritableStream()).catch(() => {})),
        );
        const c = await a.dial(b.nodeId, b.localAddresses[0]);
        let written = 0;
        const turns = perTurn(() => written);
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
        const growth = turns.stop();
        expect(written).toBe(4 * 128 * 64 * 1024);
        // 512 KiB, plus the chunks already past the check when the budget ran out (one per stream).
        expect(Math.max(...growth)).toBeLessThanOrEqual(512 * 1024 + 4 * chunk.byteLength);
        expect(growth.filter((n) => n > 0).length).toBeGreaterThanOrEqual(32);
      } finally {
        await a.stop();
        await b.stop();
      }
    },
  );

  testProp.prop([fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 200 })])(
    'TurnBudget grants at most its budget plus one take per turn, and every take in the end',
    async (amounts) => {
      const budget = new TurnBudget(250);
      let granted = 0;
      const turns = perTurn(() => granted);
      for (const n of amounts) {
        await budget.take(n);
        granted += n;
      }
      const growth = turns.stop();
      expect(granted).toBe(amounts.reduce((x, y) => x + y, 0));
      expect(Math.max(0, ...growth)).toBeLessThanOrEqual(250 + 100);
    },
  );
});
