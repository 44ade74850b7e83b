/**
 * Worker-thread entry of `WorkerQUICTransport`: runs one `QUICEngine` with
 * the `EngineInit` it was started with. Compiled to `dist/worker/engine.js`,
 * which the main side loads relative to its own module.
 *
 * The thread never ends with a UDP socket open (see `socketGuard.ts`): an
 * uncaught error, or the main side's `exit`, closes the sockets, tells the
 * main side why, and only then exits.
 */
import type { EngineInit, FromEngine } from './protocol.js';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import QUICEngine from './QUICEngine.js';
import { closeSocketsNow, trackSockets } from './socketGuard.js';
import { toWireError } from './wireErrors.js';

if (!isMainThread && parentPort != null) {
  const port = parentPort;
  trackSockets();
  const post = (batch: Array<FromEngine>, transfer: Array<ArrayBuffer>) => {
    try {
      port.postMessage(batch, transfer);
    } catch {
      // A buffer that cannot be transferred is copied instead.
      port.postMessage(batch);
    }
  };
  const die = (e: unknown) => {
    closeSocketsNow();
    try {
      port.postMessage([{ t: 'fatal', error: toWireError(e) }]);
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  const engine = new QUICEngine({ init: workerData as EngineInit, post, exit: die });
  port.on('message', (batch: unknown) => engine.receive(batch));
  await engine.start();
}
