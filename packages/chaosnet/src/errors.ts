import { errors as baseErrors } from '@node-network/network-interface';

class ErrorChaos<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Chaos run error';
}

/** A scenario file that does not parse or breaks the schema; `data.path` names the field. */
class ErrorChaosScenario<T> extends ErrorChaos<T> {
  static description = 'Chaos scenario is invalid';
}

/** The lab cannot run here (netns without root, a missing tool). */
class ErrorChaosLabUnavailable<T> extends ErrorChaos<T> {
  static description = 'Chaos lab cannot run here';
}

/** A fault could not be applied to the lab (unknown node, unsupported kind change). */
class ErrorChaosFault<T> extends ErrorChaos<T> {
  static description = 'Chaos fault could not be applied';
}

/** A chaos operation's target is down or refuses (the simulated TCP to a dead HTTP relay). */
class ErrorChaosUnreachable<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'Simulated peer is unreachable';
}

/** An operation on a node that is not running (killed by the conductor). */
class ErrorChaosNodeDown<T> extends ErrorChaos<T> {
  static description = 'Chaos node is down';
}

/** A lab-side command to an agent process failed (its reply carried an error). */
class ErrorChaosAgent<T> extends ErrorChaos<T> {
  static description = 'Chaos agent process answered an error';
}

export {
  ErrorChaos,
  ErrorChaosScenario,
  ErrorChaosLabUnavailable,
  ErrorChaosFault,
  ErrorChaosUnreachable,
  ErrorChaosNodeDown,
  ErrorChaosAgent,
};
