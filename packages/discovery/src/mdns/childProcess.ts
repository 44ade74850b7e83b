import type { ChildHandle, ProcessSpawner } from './types.js';
import { spawn } from 'node:child_process';
import readline from 'node:readline';

/** The real `ProcessSpawner`: node:child_process, no shell, stdin closed, output read by line. */
const spawnProcess: ProcessSpawner = (argv) => {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  const exitHandlers: Array<(code: number | null, signal: string | null) => void> = [];
  const finish = (code: number | null, signal: string | null) => {
    if (exited) return;
    exited = true;
    for (const h of exitHandlers) h(code, signal);
  };
  child.once('exit', (code, signal) => finish(code, signal));
  // A command that is not installed: 'error' (ENOENT) and no 'exit'.
  child.once('error', () => finish(127, null));
  const handle: ChildHandle = {
    get exited() {
      return exited;
    },
    onLine: (stream, handler) => {
      readline.createInterface({ input: child[stream]! }).on('line', handler);
    },
    onExit: (handler) => {
      exitHandlers.push(handler);
    },
    kill: (signal = 'SIGTERM') => {
      if (!exited) child.kill(signal);
    },
  };
  return handle;
};

export default spawnProcess;
