import { test, expect } from '@jest/globals';
import { runDemo } from '../src/demo.js';

test('the demo connects every pair over IPv4, IPv6 and both, and refuses the stranger', async () => {
  const lines: Array<string> = [];
  const rows = await runDemo({ print: (s) => lines.push(s) });
  expect(rows).toHaveLength(10);
  expect(rows.slice(0, 9).every((r) => r.result === 'connected')).toBe(true);
  expect(rows[9].result).toBe('rejected');
  const out = lines.join('\n');
  expect(out).toMatch(/9 of 10 attempts connected/);
  expect(out).toMatch(/\[::1\]:\d+/);
});
