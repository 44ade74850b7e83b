import { test, expect } from '@jest/globals';
import { testClockCompliance } from '@node-network/network-interface/compliance';
import VirtualClock from '../src/VirtualClock.js';

testClockCompliance('VirtualClock', {
  create: async () => {
    const clock = new VirtualClock();
    return { clock, advance: async (ms) => void clock.advance(ms), destroy: async () => {} };
  },
});

test('hours of virtual time pass at once, and runUntilIdle drains chained timers', () => {
  const clock = new VirtualClock();
  let n = 0;
  const tick = () => {
    n++;
    if (n < 3600) clock.setTimer(1000, tick);
  };
  clock.setTimer(1000, tick);
  expect(clock.runUntilIdle()).toBe(3600);
  expect(clock.now()).toBe(3_600_000);
  expect(clock.nextDue()).toBeUndefined();
});
