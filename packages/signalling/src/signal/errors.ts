import { errors as baseErrors } from '@node-network/network-interface';

class ErrorSignal<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Signal refused';
}

/** A signal message failed validation. */
class ErrorSignalMalformed<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Malformed signal message';
}

/** A signal message is larger than any honest one. */
class ErrorSignalOversized<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Signal message too large';
}

class ErrorSignalNetwork<T> extends ErrorSignal<T> {
  static description = 'The signal is for another network';
}

class ErrorSignalSignature<T> extends ErrorSignal<T> {
  static description = 'The signal is not signed by the node it names';
}

class ErrorSignalStale<T> extends ErrorSignal<T> {
  static description = 'The signal is too old or from the future';
}

class ErrorSignalReplay<T> extends ErrorSignal<T> {
  static description = 'The signal was seen before';
}

class ErrorSignalHopLimit<T> extends ErrorSignal<T> {
  static description = 'The signal travelled too many hops';
}

class ErrorSignalLoop<T> extends ErrorSignal<T> {
  static description = 'The signal went round in a loop';
}

/** An answer that does not answer the request (or a request from the wrong peer). */
class ErrorSignalMismatch<T> extends ErrorSignal<T> {
  static description = 'The signal does not match';
}

/** Carries `data: { limit: 'source' | 'target' | 'global', retryAfterMs }`. */
class ErrorSignalRateLimited<T> extends ErrorSignal<T> {
  static description = 'Signal rate limit reached';
}

class ErrorSignalNoRoute<T> extends ErrorSignal<T> {
  static description = 'No connected peer leads closer to the target';
}

export {
  ErrorSignal,
  ErrorSignalMalformed,
  ErrorSignalOversized,
  ErrorSignalNetwork,
  ErrorSignalSignature,
  ErrorSignalStale,
  ErrorSignalReplay,
  ErrorSignalHopLimit,
  ErrorSignalLoop,
  ErrorSignalMismatch,
  ErrorSignalRateLimited,
  ErrorSignalNoRoute,
};
