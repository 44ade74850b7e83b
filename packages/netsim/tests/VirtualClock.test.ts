import { describe, test, expect } from '@jest/globals';
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

describe('VirtualClock resolution', () => {
  test('a positive delay too small for the clock still moves time on (no spin at one instant)', () => {
    // Values found by search: `now - lastActive` is below `idle`, `lastActive + idle - now` is 0.
    const clock = new VirtualClock(210002.35978777008);
    const lastActive = 90002.35978777039;
    const idle = 120_000;
    let checks = 0;
    let closedAt: number | undefined;
    // The connection manager's idle check, whose wait rounds to ~0.
    const check = () => {
      checks++;
      if (clock.now() - lastActive >= idle) closedAt = clock.now();
      else clock.setTimer(lastActive + idle - clock.now(), check);
    };
    check();
    clock.runUntilIdle(1000);
    expect(closedAt).toBeDefined();
    expect(checks).toBeLessThanOrEqual(3);
  });
});
