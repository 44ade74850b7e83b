/**
 * Compliance suites: one per contract. An implementation proves itself by
 * running the suite from its own tests with a harness (jest).
 */
export { testConnectionCompliance } from './connection.js';
export type { ConnectionHarness } from './connection.js';
export { testClockCompliance } from './clock.js';
export type { ClockHarness } from './clock.js';
export { testDatagramPortCompliance } from './datagramPort.js';
export type { DatagramPortHarness } from './datagramPort.js';
