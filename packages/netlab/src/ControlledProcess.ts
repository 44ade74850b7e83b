import type { ChildProcess } from 'node:child_process';
import { ErrorNetlab } from './errors.js';

class ErrorControlledProcess<T> extends ErrorNetlab<T> {
  static description = 'Controlled process failed to answer';
}

type Reply = { id: number; result?: unknown; error?: string };

/**
 * A process driven over JSON lines: requests `{"id","cmd","args"}` on its
 * stdin, replies `{"id","result"}` or `{"id","error"}` and events
 * `{"event", ...}` on its stdout. Every request has a timeout; events and
 * stderr are kept for the test to read.
 */
class ControlledProcess {
  public readonly child: ChildProcess;
  public readonly events: Array<Record<string, unknown>> = [];
  public stderr = '';
  protected nextId = 1;
  protected waiting = new Map<
    number,
    {
      resolve: (v: unknown) => void;
      reject: (e: Error) => void;
      timer: ReturnType<typeof setTimeout>;
    }
  >();
  protected eventWaiters: Array<{
    match: (e: Record<string, unknown>) => boolean;
    resolve: (e: Record<string, unknown>) => void;
  }> = [];
  protected exited = false;

  public constructor(child: ChildProcess) {
    this.child = child;
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.handleLine(line);
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => {
      this.stderr = (this.stderr + c).slice(-65536);
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      for (const [, w] of this.waiting) {
        clearTimeout(w.timer);
        const tail = this.stderr.trim().split('\n').slice(-40).join('\n');
        w.reject(
          new ErrorControlledProcess(
            `Process exited (${code ?? signal}) before answering${tail !== '' ? `; its stderr ends:\n${tail}` : ''}`,
          ),
        );
      }
      this.waiting.clear();
    });
  }

  /** Sends `cmd` and resolves with its result, or rejects after `timeoutMs`. */
  public request(cmd: string, args: unknown = {}, timeoutMs = 10_000): Promise<unknown> {
    if (this.exited) return Promise.reject(new ErrorControlledProcess('Process has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ErrorControlledProcess(`No answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.child.stdin!.write(JSON.stringify({ id, cmd, args }) + '\n');
    });
  }

  /** Resolves with the first event (already seen or future) that `match` accepts. */
  public waitForEvent(
    match: (e: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const seen = this.events.find(match);
    if (seen != null) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (e: Record<string, unknown>) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.eventWaiters.splice(this.eventWaiters.indexOf(w), 1);
        reject(new ErrorControlledProcess(`No matching event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.eventWaiters.push(w);
    });
  }

  /** Asks the process to exit, then kills it if it has not within `graceMs`. */
  public async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin?.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.child.kill('SIGTERM');
    await exited;
    clearTimeout(t);
  }

  protected handleLine(line: string): void {
    let msg: any;
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not a protocol line (a log): ignore
    }
    if (msg != null && typeof msg === 'object' && typeof msg.id === 'number') {
      const w = this.waiting.get(msg.id);
      if (w == null) return;
      this.waiting.delete(msg.id);
      clearTimeout(w.timer);
      const reply = msg as Reply;
      if (reply.error != null) w.reject(new ErrorControlledProcess(String(reply.error)));
      else w.resolve(reply.result);
      return;
    }
    if (msg != null && typeof msg === 'object' && 'event' in msg) {
      this.events.push(msg);
      for (const w of [...this.eventWaiters]) {
        if (w.match(msg)) {
          this.eventWaiters.splice(this.eventWaiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
    }
  }
}

export default ControlledProcess;
export { ErrorControlledProcess };
