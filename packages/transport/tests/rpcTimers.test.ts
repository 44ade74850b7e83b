import { describe, test, expect } from '@jest/globals';
import { spawn } from 'node:child_process';

describe('RPC call timers', () => {
  test('a process whose calls (unary and raw, numeric 60 s timers) are done exits at once', async () => {
    const fixture = new URL('./fixtures/callsThenExit.mjs', import.meta.url);
    const child = spawn(process.execPath, [fixture.pathname], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    // Exited by itself within 20 s of starting (its calls' 60 s timers must not hold it), or killed.
    const outcome = await new Promise<{ code: number | null; killed: boolean }>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (code, signal) => {
        clearTimeout(kill);
        resolve({ code, killed: signal === 'SIGKILL' });
      });
    });
    expect({ out: out.trim(), ...outcome, err: err.slice(-500) }).toEqual({
      out: 'done',
      code: 0,
      killed: false,
      err: '',
    });
  }, 30_000);
});
