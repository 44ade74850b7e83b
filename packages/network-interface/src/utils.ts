import type { Address, Unsubscribe } from './types.js';
import type { DatagramPort } from './DatagramPort.js';
import * as errors from './errors.js';

/**
 * The checks `DatagramPort.send` makes before anything else, shared by every
 * implementation so they refuse the same inputs with the same errors.
 */
function assertDatagramSendable(
  port: Pick<DatagramPort, 'closed' | 'maxDatagramSize' | 'localAddress'>,
  data: Uint8Array,
  to: Address,
): void {
  if (port.closed) throw new errors.ErrorDatagramPortClosed('Datagram port is closed');
  if (data.byteLength > port.maxDatagramSize) {
    throw new errors.ErrorDatagramTooLarge(
      `Datagram of ${data.byteLength} bytes exceeds ${port.maxDatagramSize}`,
    );
  }
  if (to.family !== port.localAddress.family) {
    throw new errors.ErrorDatagramAddressInvalid(
      `Cannot send to an ${to.family} address from an ${port.localAddress.family} port`,
    );
  }
}

/**
 * The receivers registered on a `DatagramPort`: every receiver sees every
 * datagram; `add` returns the `Unsubscribe`. Shared by the implementations.
 */
class DatagramHandlers {
  protected handlers = new Set<(data: Uint8Array, from: Address) => void>();

  public add(handler: (data: Uint8Array, from: Address) => void): Unsubscribe {
    // Wrapped so the same function registered twice counts twice.
    const h = (data: Uint8Array, from: Address) => handler(data, from);
    this.handlers.add(h);
    return () => {
      this.handlers.delete(h);
    };
  }

  /** Hands `data` to every receiver; `copy` gives each its own bytes. */
  public dispatch(data: Uint8Array, from: Address, copy = false): void {
    for (const h of this.handlers) h(copy ? new Uint8Array(data) : data, from);
  }

  public clear(): void {
    this.handlers.clear();
  }
}

/** RFC 5952 canonical text: lower case, longest run of 2+ zero groups compressed. */
function formatIPv6(bytes: Uint8Array): string {
  const groups: Array<number> = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/**
 * `host:port`, or `[host]:port` for an IPv6 host: the one text form of an
 * address everywhere (logs, audit records, wire fields, table keys).
 */
function formatAddress(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export { assertDatagramSendable, DatagramHandlers, formatIPv6, formatAddress };
