import type { WireError } from './protocol.js';
import { errors as baseErrors } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import * as errors from '../errors.js';
import { maxErrorDepth, maxText } from './protocol.js';

/**
 * Errors cross threads by class name, message, plain data and causes; the
 * receiving side rebuilds our typed errors (network-interface, transport and
 * identity classes) so `instanceof` works as if the error were thrown here.
 */

type ErrorClass = new (message?: string, options?: { data?: any; cause?: unknown }) => Error;

const registry = new Map<string, ErrorClass>();
for (const mod of [baseErrors, errors, identity.errors] as Array<Record<string, unknown>>) {
  for (const [name, v] of Object.entries(mod)) {
    if (typeof v === 'function' && v.prototype instanceof Error) {
      registry.set(name, v as ErrorClass);
    }
  }
}

function toWireError(e: unknown, depth = 0): WireError {
  if (!(e instanceof Error)) {
    return { name: 'Error', message: String(e).slice(0, maxText) };
  }
  const w: WireError = { name: e.name, message: e.message.slice(0, maxText) };
  const data = (e as { data?: unknown }).data;
  if (data != null && typeof data === 'object') {
    try {
      w.data = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
    } catch {
      // Not plain data: left behind.
    }
  }
  const cause = (e as { cause?: unknown }).cause;
  if (cause != null && depth < maxErrorDepth) w.cause = toWireError(cause, depth + 1);
  return w;
}

/**
 * Rebuilds an error. A name we know gives that class; any other name gives
 * `fallback` (a typed error) when one is given, else a plain `Error` that
 * keeps the name.
 */
function fromWireError(w: WireError, fallback?: ErrorClass): Error {
  const cause = w.cause != null ? fromWireError(w.cause) : undefined;
  const cls = registry.get(w.name);
  if (cls != null) return new cls(w.message, { data: w.data ?? {}, cause });
  if (fallback != null) {
    return new fallback(`${w.name}: ${w.message}`, { data: w.data ?? {}, cause });
  }
  const e = new Error(w.message, { cause });
  e.name = w.name;
  return e;
}

export { toWireError, fromWireError };
export type { ErrorClass };
