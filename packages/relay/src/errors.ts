import { errors as baseErrors } from '@node-network/network-interface';

class ErrorRelay<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Relay error';
}

/** The relay refused a circuit: relaying is off, a quota is full, or the target is not connected. */
class ErrorRelayRefused<T> extends ErrorRelay<T> {
  static description = 'The relay refused the circuit';
}

/** A circuit exceeded the bytes or the rate its relay allows. */
class ErrorRelayQuotaExceeded<T> extends ErrorRelayRefused<T> {
  static description = 'The circuit exceeded its relay quota';
}

/** The relay holds no connection to the target. */
class ErrorRelayTargetUnreachable<T> extends ErrorRelayRefused<T> {
  static description = 'The relay is not connected to the target';
}

/**
 * No datagram circuit is possible here: the relay serves none, or one of the
 * legs is not UDP (WebSocket, another relay). The stream circuit remains.
 */
class ErrorRelayDatagramUnavailable<T> extends ErrorRelayRefused<T> {
  static description = 'No datagram circuit through this relay';
}

/** A relay request is malformed (no or bad target). */
class ErrorRelayRequestInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Malformed relay request';
}

/**
 * The bytes through the relay failed end-to-end authentication: the relay
 * (or something on its path) altered, dropped or reordered them. Nothing
 * altered is delivered; the relayed connection is closed.
 */
class ErrorRelayTampered<T> extends baseErrors.ErrorConnectionClosed<T> {
  static description = 'Relayed bytes failed end-to-end authentication';
}

/** The circuit under a relayed connection broke (the relay died or closed it). */
class ErrorRelayCircuitBroken<T> extends baseErrors.ErrorConnectionClosed<T> {
  static description = 'The relay circuit broke';
}

/** The end-to-end TLS handshake through the relay failed (identity, network, or protocol). */
class ErrorRelayHandshake<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'End-to-end handshake through the relay failed';
}

/** The peer broke the multiplexing protocol inside the tunnel. */
class ErrorMuxProtocol<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Stream multiplexing protocol violated';
}

/** Nothing arrived through the tunnel for longer than its idle timeout. */
class ErrorMuxIdleTimeout<T> extends baseErrors.ErrorConnectionIdleTimeout<T> {
  static description = 'Relayed connection timed out: nothing arrived through the relay';
}

export {
  ErrorRelay,
  ErrorRelayRefused,
  ErrorRelayQuotaExceeded,
  ErrorRelayTargetUnreachable,
  ErrorRelayDatagramUnavailable,
  ErrorRelayRequestInvalid,
  ErrorRelayTampered,
  ErrorRelayCircuitBroken,
  ErrorRelayHandshake,
  ErrorMuxProtocol,
  ErrorMuxIdleTimeout,
};
