import { execFile } from 'node:child_process';
import { ErrorNetlabCommand } from './errors.js';

/** Runs `argv` (no shell), optionally with `input` on stdin; rejects with the command's stderr. */
function run(
  argv: Array<string>,
  { input, timeoutMs = 20_000 }: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0], argv.slice(1), { timeout: timeoutMs }, (e, stdout, stderr) => {
      if (e != null) {
        reject(
          new ErrorNetlabCommand(
            `${argv.join(' ')} failed: ${String(stderr).trim() || e.message}`,
            {
              cause: e,
              data: { argv, stderr: String(stderr) },
            },
          ),
        );
      } else {
        resolve(String(stdout));
      }
    });
    if (input != null) child.stdin?.end(input);
  });
}

function commandExists(name: string): Promise<boolean> {
  return run(['sh', '-c', `command -v ${name}`]).then(
    () => true,
    () => false,
  );
}

/** Kills every process left in `namespaces` and deletes them, last made first; never throws. */
async function deleteNamespaces(namespaces: ReadonlyArray<string>): Promise<void> {
  for (const ns of [...namespaces].reverse()) {
    const pids = await run(['ip', 'netns', 'pids', ns]).catch(() => '');
    for (const pid of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run(['ip', 'netns', 'del', ns]).catch(() => {});
  }
}

/** Makes namespace `ns` with its loopback up (and leaves none behind when that fails). */
async function addNamespace(ns: string): Promise<void> {
  await run(['ip', 'netns', 'add', ns]);
  try {
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await run(['ip', 'netns', 'del', ns]).catch(() => {});
    throw e;
  }
}

/** A veth pair: `ifName` in `ns`, its peer `peerName` in `bridgeNs` enslaved to that namespace's `br0` and up. */
async function vethToBridge(
  ns: string,
  ifName: string,
  bridgeNs: string,
  peerName: string,
): Promise<void> {
  await run([
    'ip',
    'link',
    'add',
    ifName,
    'netns',
    ns,
    'type',
    'veth',
    'peer',
    'name',
    peerName,
    'netns',
    bridgeNs,
  ]);
  await run(['ip', '-n', bridgeNs, 'link', 'set', peerName, 'master', 'br0', 'up']);
}

export { run, commandExists, deleteNamespaces, addNamespace, vethToBridge };
