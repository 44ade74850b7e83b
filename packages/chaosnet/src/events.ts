import type { ChaosEvent, NetworkSnapshot, Violation } from './types.js';
import { AbstractEvent } from '@matrixai/events';

abstract class EventChaos<T = undefined> extends AbstractEvent<T> {}
/** A line of the run's event log (faults, heals, phases, notable failures). */
class EventChaosLog extends EventChaos<ChaosEvent> {}
/** An invariant was broken. */
class EventChaosViolation extends EventChaos<Violation> {}
/** A sample was taken: the live network, as the dashboard renders it. */
class EventChaosSnapshot extends EventChaos<NetworkSnapshot> {}

export { EventChaos, EventChaosLog, EventChaosViolation, EventChaosSnapshot };
