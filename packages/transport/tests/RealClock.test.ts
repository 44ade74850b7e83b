import { testClockCompliance } from '@node-network/network-interface/compliance';
import RealClock from '../src/RealClock.js';

testClockCompliance('RealClock', {
  create: async () => ({
    clock: new RealClock(),
    advance: (ms) => new Promise((r) => setTimeout(r, ms + 5)),
    destroy: async () => {},
  }),
});
