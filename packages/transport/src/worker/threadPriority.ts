import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';

type ThreadPriority = { tid: number; nice: number } | { reason: string };

/**
 * Lowers the calling worker thread's CPU priority by `increment` nice steps
 * (at most to 19), so that when the thread and the process's main thread
 * both want a core, the main thread gets it first. On Linux a thread's nice
 * value is its own: `setpriority(PRIO_PROCESS, tid)` (what `os.setPriority`
 * calls) changes that thread only. Elsewhere, on the main thread, or with
 * no /proc, nothing changes and the reason is returned.
 */
function lowerThreadPriority(increment: number): ThreadPriority {
  if (increment === 0) return { reason: 'the increment is 0' };
  if (isMainThread) return { reason: 'only a worker thread lowers its own priority' };
  if (process.platform !== 'linux') {
    return { reason: `per-thread priority needs Linux, this is ${process.platform}` };
  }
  let tid: number;
  try {
    // "<pid>/task/<tid>"
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch (e) {
    return { reason: `no thread id (/proc/thread-self: ${(e as Error).message})` };
  }
  if (!Number.isSafeInteger(tid) || tid <= 0 || tid === process.pid) {
    return { reason: `no thread id of its own (read ${tid})` };
  }
  try {
    const nice = Math.min(19, getPriority(tid) + increment);
    setPriority(tid, nice);
    return { tid, nice: getPriority(tid) };
  } catch (e) {
    return { reason: `setpriority failed: ${(e as Error).message}` };
  }
}

export type { ThreadPriority };
export { lowerThreadPriority };
