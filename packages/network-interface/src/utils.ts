import type { Address } from './types.js';
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

export { assertDatagramSendable };
