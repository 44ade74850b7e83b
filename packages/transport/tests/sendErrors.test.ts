import { describe, test, expect, afterAll } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';

/**
 * A UDP send that the local host refuses (an nftables output drop answers
 * EPERM) loses that datagram like the network would; it used to be an
 * internal error in @matrixai/quic that threw and ended the process (found
 * by chaosnet). Needs root for its own network namespace; skips and says why
 * otherwise, fails in CI.
 */
function why(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const cmd of ['ip', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed`;
  }
  return undefined;
}
const reason = why();
if (reason != null) {
  if (process.env.CI === 'true') throw new Error(`sendErrors cannot run in CI: ${reason}`);
  console.warn(`Skipping the refused-send test: ${reason}`);
}
const maybe = reason == null ? describe : describe.skip;
const ns = `nnlabsend${process.pid}`;

afterAll(() => {
  spawnSync('ip', ['netns', 'del', ns]);
});

maybe('UDP sends the host refuses', () => {
  test('EPERM on send: calls time out, the connection idles out, the process lives and reconnects', () => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const fixture = new URL('./fixtures/sendBlocked.mjs', import.meta.url).pathname;
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fixture], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const steps = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect({ status: r.status, stderr: r.stderr.slice(-2000) }).toEqual({ status: 0, stderr: '' });
    expect(steps.map((s) => s.step)).toEqual(['connected', 'blocked', 'idle', 'reconnected']);
    expect(steps[1].ping).toMatch(/Timed?Out|Timeout|IdleTimeout/);
    expect(steps[2].connected).toBe(false);
    expect(steps[3].rtt).toBeGreaterThanOrEqual(0);
  }, 90_000);
});
