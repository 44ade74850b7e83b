import { errors as baseErrors } from '@node-network/network-interface';

class ErrorTransport<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Transport error';
}

class ErrorAddressInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Invalid network address';
}

class ErrorTransportRunning<T> extends ErrorTransport<T> {
  static description = 'Transport is running';
}

class ErrorTransportNotRunning<T> extends baseErrors.ErrorConnectionTransportNotRunning<T> {
  static description = 'Transport is not running';
}

class ErrorTransportBind<T> extends ErrorTransport<T> {
  static description = 'Could not bind a socket';
}

/** No socket of the address's family is bound, so it cannot be dialled. */
/** A punch datagram could not be sent (bad payload, or the socket refused it). */
class ErrorTransportPunch<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Could not send a punch datagram';
}

class ErrorTransportFamilyUnavailable<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'No socket is bound for this address family';
}

/** A dial to one address failed (unreachable, no answer, QUIC error). */
class ErrorDialAddressFailed<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'Dialling an address failed';
}

/** Every address of a node was tried and all failed; `data.attempts` says how. */
class ErrorDialAllAddressesFailed<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'Every address of the node failed';
}

/** Dialled with no address to try. */
class ErrorDialNoAddresses<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'No address is known for the node';
}

/** Refused to dial our own NodeId. */
class ErrorDialSelf<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'Cannot connect to our own NodeId';
}

/** The connection was closed because another one to the same node won the tie-break. */
class ErrorConnectionDuplicate<T> extends baseErrors.ErrorConnectionClosed<T> {
  static description = 'Duplicate connection to the same node was closed';
}

/**
 * A worker thread of `WorkerQUICTransport` crashed (exited, threw, or broke
 * the message protocol): its connections close with this reason, and every
 * pending dial, stream open, read and write on them rejects with it.
 */
class ErrorTransportWorkerCrashed<T> extends baseErrors.ErrorConnectionClosed<T> {
  static description = 'The transport worker thread crashed';
}

/** A transport worker sent a message that is not in the protocol. */
class ErrorTransportWorkerProtocol<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Malformed message from a transport worker';
}

class ErrorRPC<T> extends ErrorTransport<T> {
  static description = 'RPC error';
}

/** The remote handler threw; `data` carries the remote error's type and message. */
class ErrorRPCMethodUnsupported<T> extends ErrorRPC<T> {
  static description = 'The peer does not speak this RPC method; the call was not sent';
}

class ErrorRPCRemote<T> extends ErrorRPC<T> {
  static description = 'Remote RPC handler failed';
}

/** An RPC answer did not match its expected shape. */
class ErrorRPCResponseInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'RPC response is malformed';
}

/** An RPC request did not match its expected shape. */
class ErrorRPCRequestInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'RPC request is malformed';
}

export {
  ErrorTransport,
  ErrorAddressInvalid,
  ErrorTransportRunning,
  ErrorTransportNotRunning,
  ErrorTransportBind,
  ErrorTransportFamilyUnavailable,
  ErrorTransportPunch,
  ErrorDialAddressFailed,
  ErrorDialAllAddressesFailed,
  ErrorDialNoAddresses,
  ErrorDialSelf,
  ErrorConnectionDuplicate,
  ErrorTransportWorkerCrashed,
  ErrorTransportWorkerProtocol,
  ErrorRPC,
  ErrorRPCMethodUnsupported,
  ErrorRPCRemote,
  ErrorRPCResponseInvalid,
  ErrorRPCRequestInvalid,
};
