import { AbstractEvent } from '@matrixai/events';

abstract class EventNodeGraph<T = undefined> extends AbstractEvent<T> {}

class EventNodeGraphStart extends EventNodeGraph {}
class EventNodeGraphStarted extends EventNodeGraph {}
class EventNodeGraphStop extends EventNodeGraph {}
class EventNodeGraphStopped extends EventNodeGraph {}

/** A decision of the table's garbage collection or eviction, with its reason. */
class EventNodeGraphDecision extends EventNodeGraph<{
  kind: 'address-dropped' | 'contact-removed' | 'evicted' | 'kept' | 'candidate-dropped';
  nodeId: string;
  address?: string;
  reason: string;
}> {}

export {
  EventNodeGraph,
  EventNodeGraphStart,
  EventNodeGraphStarted,
  EventNodeGraphStop,
  EventNodeGraphStopped,
  EventNodeGraphDecision,
};
