/**
 * Compliance suites: one per contract. An implementation proves itself by
 * running the suite from its own tests with a harness (jest).
 */
export { testConnectionCompliance } from './connection.js';
export type { ConnectionHarness } from './connection.js';
