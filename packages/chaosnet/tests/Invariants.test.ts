import { describe, test, expect } from '@jest/globals';
import { VirtualClock } from '@node-network/netsim';
import { errors as baseErrors } from '@node-network/network-interface';
import type { ChaosNode } from '../src/index.js';
import { Invariants, Recorder } from '../src/index.js';
import { tinyScenario } from './utils.js';

const node = { name: 'n0', incarnation: 0 } as unknown as ChaosNode;

function setup() {
  const clock = new VirtualClock();
  const recorder = new Recorder(clock);
  const scenario = tinyScenario({ invariants: { graceMs: 5000, lateMs: 2000 } });
  return { clock, recorder, invariants: new Invariants({ recorder, scenario }) };
}

describe('invariants', () => {
  test('an operation that never settles is a hang; one that settles late is logged', async () => {
    const { clock, recorder, invariants } = setup();
    const hang = recorder.newOp({ node: 'n0', kind: 'connect', target: 'n1' });
    void invariants.runOp(node, hang, 1000, () => new Promise(() => {}));
    const late = recorder.newOp({ node: 'n0', kind: 'rpc', target: 'n1' });
    const lateDone = invariants.runOp(
      node,
      late,
      1000,
      () =>
        new Promise((_, reject) =>
          clock.setTimer(4000, () => reject(new baseErrors.ErrorTimeout('slow'))),
        ),
    );
    clock.advance(4000);
    await lateDone;
    expect(late).toMatchObject({ outcome: 'failed', error: 'ErrorTimeout', lateBy: 3000 });
    expect(recorder.events.some((e) => e.kind === 'late' && /rpc #2/.test(e.text))).toBe(true);
    clock.advance(10_000);
    expect(recorder.violations.map((v) => v.kind)).toEqual(['hang']);
    expect(recorder.violations[0].text).toMatch(/connect #1 n0 -> n1 has not settled 6000 ms/);
  });

  test('untyped errors are violations; typed ones, and aborts by a kill, are not', async () => {
    const { recorder, invariants } = setup();
    const run = (e: unknown, n = node) =>
      invariants.runOp(n, recorder.newOp({ node: 'n0', kind: 'connect', target: 'n1' }), 1000, () =>
        Promise.reject(e),
      );
    await run(new TypeError('x is undefined'));
    await run(new Error('plain'));
    await run('a string');
    await run(new baseErrors.ErrorConnectionClosed('closed'));
    const killed = { name: 'n0', incarnation: 0 } as { name: string; incarnation: number };
    await invariants.runOp(
      killed as unknown as ChaosNode,
      recorder.newOp({ node: 'n0', kind: 'rpc', target: 'n1' }),
      1000,
      async () => {
        killed.incarnation++;
        throw new Error('the process died');
      },
    );
    expect(recorder.violations.map((v) => v.kind)).toEqual([
      'untyped-error',
      'untyped-error',
      'untyped-error',
    ]);
    expect(recorder.ops.map((o) => o.outcome)).toEqual([
      'failed',
      'failed',
      'failed',
      'failed',
      'aborted',
    ]);
  });

  test('integrity and growth bounds', () => {
    const { recorder, invariants } = setup();
    const rec = recorder.newOp({ node: 'n0', kind: 'transfer', target: 'n1' });
    invariants.checkTransfer(rec, {
      path: 'relayed',
      sent: 10,
      sentSha256: 'aa',
      received: 10,
      receivedSha256: 'aa',
    });
    invariants.checkTransfer(rec, {
      path: 'relayed',
      sent: 10,
      sentSha256: 'aa',
      received: 9,
      receivedSha256: 'bb',
    });
    invariants.checkEcho(rec, false);
    const view = (connections: number, knownNodes: number) => ({
      up: true,
      connections: Array.from({ length: connections }, () => ({
        nodeId: 'x',
        path: 'direct' as const,
      })),
      knownNodes,
      addresses: [],
    });
    invariants.checkViews(
      new Map([
        ['n0', view(65, 10)],
        ['n1', view(3, 300)],
      ]),
    );
    invariants.checkViews(new Map([['n0', view(70, 10)]]));
    const sample = (time: number, memoryMiB: number) => ({
      time,
      liveNodes: 2,
      links: { direct: 0, punched: 0, relayed: 0, 'http-relay': 0 },
      connectedShare: 0,
      maxConnections: 0,
      maxKnownNodes: 0,
      memoryMiB,
    });
    invariants.checkGrowth(
      [sample(10, 100), sample(30, 100), sample(90, 900), sample(95, 900), sample(100, 900)],
      100,
    );
    expect(recorder.violations.map((v) => v.kind)).toEqual([
      'altered-bytes',
      'altered-bytes',
      'growth-connections',
      'growth-table',
      'growth-memory',
    ]);
  });
});
