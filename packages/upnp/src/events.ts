import type { PortMapping, PortMappingAttempt, PortMappingMethod } from './types.js';
import { AbstractEvent } from '@matrixai/events';

abstract class EventPortMapper<T = undefined> extends AbstractEvent<T> {}

class EventPortMapperStart extends EventPortMapper {}
class EventPortMapperStarted extends EventPortMapper {}
class EventPortMapperStop extends EventPortMapper {}
class EventPortMapperStopped extends EventPortMapper {}

/**
 * One try of one method (discover, map, renew, unmap) and how it ended, with
 * the error when it failed: the audit trail of which method was used and why
 * the others were not.
 */
class EventPortMapperAttempt extends EventPortMapper<PortMappingAttempt> {}

/** A new mapping was granted (`map`). */
class EventPortMapperMapped extends EventPortMapper<PortMapping> {}

/** A lease was renewed; the external port or address may have changed (compare with `previous`). */
class EventPortMapperRenewed extends EventPortMapper<{
  mapping: PortMapping;
  previous: PortMapping;
}> {}

/**
 * A renewal failed. The mapping stays in the table and renewal is retried
 * after `retryInMs`; `expired` says the lease has run out meanwhile (the
 * gateway may have dropped it).
 */
class EventPortMapperRenewFailed extends EventPortMapper<{
  mapping: PortMapping;
  error: Error;
  retryInMs: number;
  expired: boolean;
}> {}

/** A mapping was deleted on the gateway (`unmap`, `stop`), or could not be (`error`). */
class EventPortMapperUnmapped extends EventPortMapper<{ mapping: PortMapping; error?: Error }> {}

/** The external address learned from the gateway changed (`previous` undefined: first learned). */
class EventPortMapperExternalAddressChanged extends EventPortMapper<{
  previous?: string;
  current: string;
  method: PortMappingMethod;
}> {}

export {
  EventPortMapper,
  EventPortMapperStart,
  EventPortMapperStarted,
  EventPortMapperStop,
  EventPortMapperStopped,
  EventPortMapperAttempt,
  EventPortMapperMapped,
  EventPortMapperRenewed,
  EventPortMapperRenewFailed,
  EventPortMapperUnmapped,
  EventPortMapperExternalAddressChanged,
};
