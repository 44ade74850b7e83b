import type { Clock } from '../Clock.js';
import { describe, test, expect, beforeEach, afterEach } from '@jest/globals';

type ClockHarness = {
  /**
   * A clock and a way to let time pass: a real clock sleeps, a virtual one
   * advances. `advance(ms)` must run every timer due by then.
   */
  create(): Promise<{ clock: Clock; advance(ms: number): Promise<void>; destroy(): Promise<void> }>;
};

/** The `Clock` contract. */
function testClockCompliance(name: string, harness: ClockHarness): void {
  describe(`Clock compliance: ${name}`, () => {
    let h: Awaited<ReturnType<ClockHarness['create']>>;
    beforeEach(async () => {
      h = await harness.create();
    });
    afterEach(async () => {
      await h.destroy();
    });

    test('now() never decreases', async () => {
      let last = h.clock.now();
      for (let i = 0; i < 50; i++) {
        if (i % 10 === 0) await h.advance(1);
        const t = h.clock.now();
        expect(t).toBeGreaterThanOrEqual(last);
        last = t;
      }
    });

    test('wallTime() is an epoch time that moves with now()', async () => {
      const w0 = h.clock.wallTime();
      const n0 = h.clock.now();
      expect(w0).toBeGreaterThan(Date.UTC(2000, 0, 1));
      await h.advance(20);
      const moved = h.clock.wallTime() - w0;
      expect(moved).toBeGreaterThanOrEqual(h.clock.now() - n0 - 5);
    });

    test('timers fire at or after their due time, in due order', async () => {
      const fired: Array<[number, number]> = [];
      const t0 = h.clock.now();
      for (const d of [30, 10, 20, 0]) {
        const handle = h.clock.setTimer(d, () => fired.push([d, h.clock.now()]));
        expect(handle.due).toBeGreaterThanOrEqual(t0 + d);
      }
      await h.advance(60);
      expect(fired.map(([d]) => d)).toEqual([0, 10, 20, 30]);
      for (const [d, at] of fired) expect(at).toBeGreaterThanOrEqual(t0 + d - 1);
    });

    test('timers due together fire in the order they were set', async () => {
      const fired: Array<number> = [];
      for (let i = 0; i < 5; i++) h.clock.setTimer(5, () => fired.push(i));
      await h.advance(20);
      expect(fired).toEqual([0, 1, 2, 3, 4]);
    });

    test('cancel prevents firing; cancelling twice or after firing is harmless', async () => {
      let a = 0;
      let b = 0;
      const ha = h.clock.setTimer(5, () => a++);
      const hb = h.clock.setTimer(1, () => b++);
      ha.cancel();
      ha.cancel();
      await h.advance(20);
      hb.cancel();
      expect(a).toBe(0);
      expect(b).toBe(1);
    });

    test('a timer set inside a callback fires too', async () => {
      const fired: Array<string> = [];
      h.clock.setTimer(2, () => {
        fired.push('outer');
        h.clock.setTimer(2, () => fired.push('inner'));
      });
      await h.advance(30);
      expect(fired).toEqual(['outer', 'inner']);
    });
  });
}

export { testClockCompliance };
export type { ClockHarness };
