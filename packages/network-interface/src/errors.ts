import { AbstractError } from '@matrixai/errors';

/** Root of every error node-network throws. */
class ErrorNodeNetwork<T> extends AbstractError<T> {
  static description = 'node-network error';
}

/** An operation was cancelled through its context's signal. */
class ErrorCancelled<T> extends ErrorNodeNetwork<T> {
  static description = 'Operation was cancelled';
}

/** An operation did not finish before its context's timer. */
class ErrorTimeout<T> extends ErrorNodeNetwork<T> {
  static description = 'Operation timed out';
}

/** A wire message or text form failed validation. */
class ErrorCodec<T> extends ErrorNodeNetwork<T> {
  static description = 'Malformed input';
}

class ErrorDatagramPort<T> extends ErrorNodeNetwork<T> {
  static description = 'Datagram port error';
}

class ErrorDatagramPortClosed<T> extends ErrorDatagramPort<T> {
  static description = 'Datagram port is closed';
}

class ErrorDatagramTooLarge<T> extends ErrorDatagramPort<T> {
  static description = 'Datagram exceeds the maximum datagram size';
}

class ErrorDatagramAddressInvalid<T> extends ErrorDatagramPort<T> {
  static description = 'Destination address cannot be used on this port';
}

class ErrorConnection<T> extends ErrorNodeNetwork<T> {
  static description = 'Connection error';
}

/** Dialing failed: nothing answered, the handshake failed, or the peer refused. */
class ErrorConnectionDial<T> extends ErrorConnection<T> {
  static description = 'Could not establish a connection';
}

/** The peer proved a different NodeId than the one dialled. */
class ErrorConnectionNodeIdMismatch<T> extends ErrorConnectionDial<T> {
  static description = 'Peer presented a different NodeId than expected';
}

/** The peer's identity, network or membership was refused during the handshake. */
class ErrorConnectionPeerRejected<T> extends ErrorConnectionDial<T> {
  static description = 'Peer identity was rejected during the handshake';
}

/** The peer refused our identity during the handshake. */
class ErrorConnectionRejectedByPeer<T> extends ErrorConnectionDial<T> {
  static description = 'Peer rejected our identity during the handshake';
}

class ErrorConnectionClosed<T> extends ErrorConnection<T> {
  static description = 'Connection is closed';
}

class ErrorConnectionIdleTimeout<T> extends ErrorConnectionClosed<T> {
  static description = 'Connection closed after its idle timeout';
}

class ErrorConnectionTransportNotRunning<T> extends ErrorConnection<T> {
  static description = 'Connection transport is not running';
}

class ErrorStream<T> extends ErrorNodeNetwork<T> {
  static description = 'Stream error';
}

class ErrorStreamClosed<T> extends ErrorStream<T> {
  static description = 'Stream is closed';
}

/**
 * The peer ended one direction of a stream abruptly: it reset what it was
 * sending (`data.direction` 'read': our reads fail) or stopped reading what we
 * send ('write'). `data.code` is the application code on the wire and
 * `data.reason` its name (cancelled, timeout, protocol, failed, unspecified).
 */
class ErrorStreamReset<T> extends ErrorStreamClosed<T> {
  static description = 'The peer reset the stream';
}

export {
  ErrorNodeNetwork,
  ErrorCancelled,
  ErrorTimeout,
  ErrorCodec,
  ErrorDatagramPort,
  ErrorDatagramPortClosed,
  ErrorDatagramTooLarge,
  ErrorDatagramAddressInvalid,
  ErrorConnection,
  ErrorConnectionDial,
  ErrorConnectionNodeIdMismatch,
  ErrorConnectionPeerRejected,
  ErrorConnectionRejectedByPeer,
  ErrorConnectionClosed,
  ErrorConnectionIdleTimeout,
  ErrorConnectionTransportNotRunning,
  ErrorStream,
  ErrorStreamClosed,
  ErrorStreamReset,
};
