// Diagnostic preload for agents (slow: a stack per promise): records where every promise is made and,
// on an unhandled rejection, prints that place before the process exits, so a crash that shows only
// the rejection's reason can be traced to the promise nobody handled. Use:
//   NODE_OPTIONS="--import $PWD/packages/chaosnet/tools/promise-trace.mjs" \
//     node packages/chaosnet/dist/bin/chaos.js --lab netns --scenario ...
// (agents inherit the environment; the crash violation's stderr then ends with PROMISE CREATED AT).
import asyncHooks from 'node:async_hooks';

const made = new WeakMap();
asyncHooks
  .createHook({
    init(_id, type, _trigger, resource) {
      if (type !== 'PROMISE') return;
      const at = {};
      Error.captureStackTrace(at);
      made.set(resource, at.stack);
    },
  })
  .enable();

process.on('unhandledRejection', (reason, promise) => {
  process.stderr.write(
    `UNHANDLED-REJECTION ${reason?.name}: ${reason?.message}\nPROMISE CREATED AT:\n${made.get(promise) ?? '(unknown)'}\n`,
  );
  process.exit(1);
});
