/**
 * @packageDocumentation
 * chaosnet: autonomous agents doing random work (connects by NodeId, RPC
 * calls, bulk transfers checked by SHA-256, lookups, disconnects) while a
 * conductor injects faults (kills and restarts, NAT kind and address
 * changes, partitions, loss, latency, relays killed mid-transfer); the
 * invariants are checked as the run goes, and the run ends with a JSON and
 * a self-contained HTML report. On netsim (in-process, reproducible from
 * the seed) or in network namespaces (real processes and kernel NATs, root).
 */
export { default as ChaosRun } from './ChaosRun.js';
export { default as Agent } from './Agent.js';
export { default as Conductor, expandFaults } from './Conductor.js';
export { default as Invariants } from './Invariants.js';
export { default as Recorder } from './Recorder.js';
export { default as SimLab } from './SimLab.js';
export { default as NetnsLab, canRunNetns } from './NetnsLab.js';
export { ChecksumSinkHandler, EchoHandler } from './handlers.js';
export {
  parseScenario,
  parseScenarioText,
  loadScenario,
  scenarioDefault,
  helperNames,
} from './scenario.js';
export { summarise, formatSummary, writeReport } from './report.js';
export { renderHtml } from './html.js';
export { runChaos, scenariosDir } from './run.js';
export type { ChaosLab, ChaosNode, PartitionHandle } from './lab.js';
export type * from './types.js';
export * as errors from './errors.js';
export * as events from './events.js';
