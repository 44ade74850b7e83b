/** Small helpers shared inside the transport package. */

/** A plain `{ name, message }` for audit records and logs. */
function errorSummary(e: unknown): { name: string; message: string } {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** Walks `cause` links and returns the first error of `cls`, if any. */
function findCause<T>(e: unknown, cls: abstract new (...a: Array<any>) => T): T | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 16 && cur != null; i++) {
    if (cur instanceof cls) return cur as T;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export { errorSummary, findCause };
