import type { ChaosReport, Scenario } from './types.js';
import type { ChaosLab } from './lab.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Logger, { LogLevel, StreamHandler } from '@matrixai/logger';
import ChaosRun from './ChaosRun.js';
import SimLab from './SimLab.js';
import { errorParts } from './utils.js';

/** The package's scenario files (from src/ or dist/ alike). */
const scenariosDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

/**
 * Runs `scenario` on a lab and returns the report: netsim by default
 * (reproducible from the seed), or network namespaces (`lab: 'netns'`, root).
 * `onRun` sees the run before it starts (to listen to its events).
 */
async function runChaos({
  scenario,
  lab = 'sim',
  tamper = [],
  logLevel = LogLevel.ERROR,
  onRun,
}: {
  scenario: Scenario;
  lab?: 'sim' | 'netns';
  /** Nodes whose sink flips a bit (proves the integrity invariant can fail). */
  tamper?: ReadonlyArray<string>;
  logLevel?: LogLevel;
  onRun?: (run: ChaosRun) => void;
}): Promise<ChaosReport> {
  const logger = new Logger('chaosnet', logLevel, [new StreamHandler()]);
  let chaosLab: ChaosLab;
  if (lab === 'netns') {
    const { default: NetnsLab } = await import('./NetnsLab.js');
    chaosLab = await NetnsLab.createNetnsLab({ seed: scenario.seed, tamper, logger });
  } else {
    chaosLab = new SimLab({ seed: scenario.seed, tamper, logger });
  }
  let run: ChaosRun | undefined;
  // A promise rejected with nobody to handle it would end this process (on netns, an agent's:
  // recorded as its crash). Here it is recorded as a crash of the simulated process, and the run goes on.
  const onUnhandled = (reason: unknown) => {
    const { name, message } = errorParts(reason);
    run?.recorder.violation(
      'crash',
      `unhandled rejection in the ${lab === 'sim' ? 'simulated network' : 'conductor'}: ${name}: ${message}`,
    );
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    run = new ChaosRun({ scenario, lab: chaosLab, logger });
    onRun?.(run);
    return await run.run();
  } finally {
    process.removeListener('unhandledRejection', onUnhandled);
    await chaosLab.destroy();
  }
}

export { runChaos, scenariosDir };
