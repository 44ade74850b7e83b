import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { canRunNetlab } from '@node-network/netlab';
// @ts-expect-error: plain ESM without types
import { createPeersLab, runLibp2p, runHyperdht } from '../run.mjs';

const can = await canRunNetlab();
if (!can.ok) process.stderr.write(`peers smoke test skipped: ${can.reason}\n`);
const maybe = can.ok ? describe : describe.skip;

// The agents start in a lab and two public nodes connect, per stack; the full matrix is the
// `pnpm bench peers` run, not a test.
maybe('peers: js-libp2p and hyperdht agents in netns', () => {
  let lab: any;
  const opts = {
    kinds: ['open'],
    timeoutMs: 20_000,
    upgradeWaitMs: 5_000,
    concurrency: 1,
    log: () => {},
  };
  beforeAll(async () => {
    lab = await createPeersLab(['open']);
  }, 60_000);
  afterAll(async () => {
    const prefix = lab?.prefix;
    await lab?.destroy();
    const left = execFileSync('ip', ['netns', 'list']).toString();
    expect(prefix == null || !left.includes(prefix)).toBe(true);
  });

  test('libp2p: open -> open connects directly', async () => {
    const r = await runLibp2p(lab, opts);
    expect(r.pairs).toHaveLength(1);
    expect(r.pairs[0]).toMatchObject({ a: 'open', b: 'open', connected: true, path: 'direct' });
  }, 120_000);

  test('hyperdht: open -> open connects without the relay', async () => {
    const r = await runHyperdht(lab, opts);
    expect(r.pairs).toHaveLength(1);
    expect(r.pairs[0]).toMatchObject({ a: 'open', b: 'open', connected: true });
    expect(r.pairs[0].path).not.toBe('relayed');
  }, 120_000);
});
