import type QUICNodeConnection from './QUICNodeConnection.js';
import { AbstractEvent } from '@matrixai/events';

/**
 * One decision or outcome a user may later ask "why?" about. These form the
 * audit trail; `node-network` keeps them and shows them in `status()`.
 */
type AuditRecord = {
  /** Wall-clock time, ms since the epoch. */
  time: number;
  kind:
    | 'dial-attempt'
    | 'dial-address-result'
    | 'dial-result'
    | 'connection-open'
    | 'connection-close'
    | 'connection-duplicate'
    | 'inbound-rejected'
    | 'nat-classification'
    | 'lookup'
    | 'nat-probe'
    | 'nodegraph'
    | 'signal'
    | 'punch'
    | 'relay'
    | 'mdns'
    | 'port-mapping';
  nodeId?: string;
  address?: string;
  path?: 'direct' | 'punched' | 'relayed' | 'http-relay';
  direction?: 'outbound' | 'inbound';
  outcome?: 'ok' | 'failed' | 'cancelled' | 'timeout';
  durationMs?: number;
  connectionId?: string;
  error?: { name: string; message: string };
  detail?: string;
};

abstract class EventTransport<T = undefined> extends AbstractEvent<T> {}

class EventQUICTransportStart extends EventTransport {}
class EventQUICTransportStarted extends EventTransport {}
class EventQUICTransportStop extends EventTransport {}
class EventQUICTransportStopped extends EventTransport {}

/** An inbound connection passed verification. */
class EventQUICTransportConnection extends EventTransport<QUICNodeConnection> {}

class EventWorkerQUICTransportStart extends EventTransport {}
class EventWorkerQUICTransportStarted extends EventTransport {}
class EventWorkerQUICTransportStop extends EventTransport {}
class EventWorkerQUICTransportStopped extends EventTransport {}

/** The worker thread of `WorkerQUICTransport` crashed; `restarting` says whether it is restarted. */
class EventWorkerQUICTransportCrash extends EventTransport<{
  error: Error;
  restarting: boolean;
}> {}

/** An audit record (see `AuditRecord`). */
class EventAudit extends EventTransport<AuditRecord> {}

class EventNodeConnectionManagerStart extends EventTransport {}
class EventNodeConnectionManagerStarted extends EventTransport {}
class EventNodeConnectionManagerStop extends EventTransport {}
class EventNodeConnectionManagerStopped extends EventTransport {}

export type { AuditRecord };
export {
  EventTransport,
  EventQUICTransportStart,
  EventQUICTransportStarted,
  EventQUICTransportStop,
  EventQUICTransportStopped,
  EventQUICTransportConnection,
  EventWorkerQUICTransportStart,
  EventWorkerQUICTransportStarted,
  EventWorkerQUICTransportStop,
  EventWorkerQUICTransportStopped,
  EventWorkerQUICTransportCrash,
  EventAudit,
  EventNodeConnectionManagerStart,
  EventNodeConnectionManagerStarted,
  EventNodeConnectionManagerStop,
  EventNodeConnectionManagerStopped,
};
