import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlledProcess, canRunNetlab } from '@node-network/netlab';
import { execFileSync } from 'node:child_process';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Whether these tests can run; in CI they must (throws), elsewhere they skip with the reason. */
async function labAvailable(what: string): Promise<boolean> {
  const can = await canRunNetlab();
  if (can.ok) return true;
  if (process.env.CI === 'true') throw new Error(`${what} must run in CI: ${can.reason}`);
  console.warn(`Skipping ${what}: ${can.reason}`);
  return false;
}

/** A loopback-only network namespace: Polykey's mDNS never reaches a real interface. */
function loopbackNamespace(name: string): string {
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return name;
}

/** Kills whatever still runs in `ns` and deletes it; never throws. */
function deleteNamespace(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const pid of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    execFileSync('ip', ['netns', 'del', ns]);
  } catch {
    // already gone
  }
}

type Started = {
  proc: ControlledProcess;
  nodeId: string;
  port: number;
  ready: Record<string, unknown>;
};

/**
 * Starts fixture `script` inside namespace `ns` and waits for its ready
 * event; `spawnIn` (a netlab `Lab.spawn`) runs it there, else `ip netns exec`.
 */
async function startIn(
  ns: string,
  script: string,
  config: unknown,
  spawnIn?: (ns: string, argv: Array<string>) => ChildProcess,
): Promise<Started> {
  const argv = [process.execPath, path.join(fixtures, script), JSON.stringify(config)];
  const child =
    spawnIn != null
      ? spawnIn(ns, argv)
      : spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  const proc = new ControlledProcess(child);
  let ready: Record<string, unknown>;
  try {
    // 1.8-2.8 s on a quiet machine; a CI run with the machine busy took over 20 s once.
    ready = await proc.waitForEvent((e) => e.event === 'ready', 60_000);
  } catch (e) {
    await proc.stop();
    throw new Error(
      `${script} did not start: ${(e as Error).message}; stderr: ${proc.stderr.slice(-2000)}`,
      { cause: e },
    );
  }
  return { proc, nodeId: String(ready.nodeId), port: Number(ready.port), ready };
}

export { labAvailable, loopbackNamespace, deleteNamespace, startIn };
export type { Started };
