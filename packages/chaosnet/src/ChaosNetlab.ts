import type { LabSiteKind } from '@node-network/netlab';
import { Lab, canRunNetlab } from '@node-network/netlab';
import { execFile } from 'node:child_process';
import { ErrorChaosLabUnavailable } from './errors.js';

const prefixRoot = 'nnchaos';

function sh(argv: Array<string>): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(argv[0], argv.slice(1), { timeout: 20_000 }, (e, out) =>
      e != null ? reject(e) : resolve(String(out)),
    ),
  );
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * netlab's `Lab` under chaosnet's own namespace prefix (`nnchaos<pid>x…`):
 * a chaos run's namespaces are told apart from the matrix's and the tests',
 * and the ones a dead chaos run left behind are swept at the next start.
 */
class ChaosNetlab extends Lab {
  public static async createChaosNetlab(
    sites: Array<{ name: string; kind: LabSiteKind }>,
  ): Promise<ChaosNetlab> {
    const can = await canRunNetlab();
    if (!can.ok) throw new ErrorChaosLabUnavailable(can.reason!);
    await ChaosNetlab.sweepChaos();
    const lab = new ChaosNetlab(
      `${prefixRoot}${process.pid}x${Math.floor(Math.random() * 1e6).toString(36)}`,
    );
    try {
      await lab.build(sites);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  /** Deletes namespaces of chaos runs whose process is gone (killing what still runs in them). */
  public static async sweepChaos(): Promise<Array<string>> {
    const out = await sh(['ip', 'netns', 'list']);
    const removed: Array<string> = [];
    for (const line of out.split('\n')) {
      const ns = line.split(' ')[0];
      const m = new RegExp(`^${prefixRoot}(\\d+)x`).exec(ns);
      if (m == null || pidAlive(Number(m[1]))) continue;
      const pids = await sh(['ip', 'netns', 'pids', ns]).catch(() => '');
      for (const pid of pids.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await sh(['ip', 'netns', 'del', ns]).catch(() => {});
      removed.push(ns);
    }
    return removed;
  }

  protected constructor(prefix: string) {
    super(prefix);
  }

  /** The internet's namespace (its bridge carries every public host's traffic). */
  public get internetNs(): string {
    return this.inetNs;
  }

  /** The namespaces this lab made (for the cleanup check). */
  public get namespaceNames(): ReadonlyArray<string> {
    return [...this.namespaces];
  }
}

export default ChaosNetlab;
export { prefixRoot };
