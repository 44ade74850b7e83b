import { test, expect } from '@jest/globals';
import { main, usage } from '../src/cli.js';

test('unknown commands print usage and fail; help succeeds', async () => {
  const writes: Array<string> = [];
  const orig = process.stdout.write.bind(process.stdout);
  (process.stdout as any).write = (s: string) => {
    writes.push(s);
    return true;
  };
  try {
    expect(await main(['nonsense'])).toBe(2);
    expect(await main(['help'])).toBe(0);
    expect(await main(['keygen'])).toBe(0);
  } finally {
    (process.stdout as any).write = orig;
  }
  expect(writes[0]).toBe(usage);
  const key = JSON.parse(writes[2]);
  expect(key.nodeId).toMatch(/^v[0-9a-v]{52}$/);
  expect(key.seed).toMatch(/^[0-9a-f]{64}$/);
});
