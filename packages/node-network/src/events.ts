import type { AuditRecord } from '@node-network/transport';
import { AbstractEvent } from '@matrixai/events';

abstract class EventNodeNetwork<T = undefined> extends AbstractEvent<T> {}
class EventNodeNetworkStart extends EventNodeNetwork {}
class EventNodeNetworkStarted extends EventNodeNetwork {}
class EventNodeNetworkStop extends EventNodeNetwork {}
class EventNodeNetworkStopped extends EventNodeNetwork {}
/** Every audit record of the node (connection attempts, outcomes, rejections). */
class EventNodeNetworkAudit extends EventNodeNetwork<AuditRecord> {}

abstract class EventAuditStore<T = undefined> extends AbstractEvent<T> {}
class EventAuditStoreStart extends EventAuditStore {}
class EventAuditStoreStarted extends EventAuditStore {}
class EventAuditStoreStop extends EventAuditStore {}
class EventAuditStoreStopped extends EventAuditStore {}

export {
  EventAuditStore,
  EventAuditStoreStart,
  EventAuditStoreStarted,
  EventAuditStoreStop,
  EventAuditStoreStopped,
  EventNodeNetwork,
  EventNodeNetworkStart,
  EventNodeNetworkStarted,
  EventNodeNetworkStop,
  EventNodeNetworkStopped,
  EventNodeNetworkAudit,
};
