import type { AuditRecord } from '@node-network/transport';
import { AbstractEvent } from '@matrixai/events';

abstract class EventNodeNetwork<T = undefined> extends AbstractEvent<T> {}
class EventNodeNetworkStart extends EventNodeNetwork {}
class EventNodeNetworkStarted extends EventNodeNetwork {}
class EventNodeNetworkStop extends EventNodeNetwork {}
class EventNodeNetworkStopped extends EventNodeNetwork {}
/** Every audit record of the node (connection attempts, outcomes, rejections). */
class EventNodeNetworkAudit extends EventNodeNetwork<AuditRecord> {}

export {
  EventNodeNetwork,
  EventNodeNetworkStart,
  EventNodeNetworkStarted,
  EventNodeNetworkStop,
  EventNodeNetworkStopped,
  EventNodeNetworkAudit,
};
