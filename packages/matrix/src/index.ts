/**
 * @packageDocumentation
 * The connectivity matrix: for every unordered pair of NAT kinds, two nodes
 * behind those NATs plus public helper nodes; one connects to the other by
 * NodeId only, and the result (connected, path, time, error) is recorded.
 * Runs on netsim (in-process, deterministic) and on netlab (real kernel
 * NATs in network namespaces, root).
 */
export { kinds, allPairs, summarise } from './types.js';
export type { Kind, Path, PairResult, KindNat, MatrixReport } from './types.js';
export { formatTable } from './report.js';
export { runSimMatrix, runSimPair, classifySimKind, SimWorld, seedBytes } from './sim.js';
export { runNetnsMatrix, netnsLabSites } from './netns.js';
export { runSignalScale } from './signalScale.js';
export type { SignalScaleOptions, SignalScaleResult } from './signalScale.js';
