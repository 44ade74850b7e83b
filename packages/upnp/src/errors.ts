import { errors as baseErrors } from '@node-network/network-interface';

/**
 * Root of the package's own errors. Cancellation is the base
 * `ErrorCancelled` (as everywhere in node-network); the codec and timeout
 * errors below extend the base `ErrorCodec` / `ErrorTimeout`, so they are
 * caught by either hierarchy's base test only where noted.
 */
class ErrorUPnP<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Port mapping error';
}

class ErrorUPnPNotRunning<T> extends ErrorUPnP<T> {
  static description = 'PortMapper is not running';
}

/** A setting or a request is not usable (bad port, lifetime, address, empty method list). */
class ErrorUPnPConfig<T> extends ErrorUPnP<T> {
  static description = 'Bad port mapping setting or request';
}

/**
 * No gateway to ask: no default route (PCP / NAT-PMP), no
 * WANIPConnection / WANPPPConnection service in the IGD's description, or
 * no method left to try. `data.attempts` lists what was tried, when known.
 */
class ErrorUPnPNoGateway<T> extends ErrorUPnP<T> {
  static description = 'No port mapping gateway found';
}

/** The gateway could not be reached at all (connection refused, ICMP unreachable, send failed). */
class ErrorUPnPGatewayUnreachable<T> extends ErrorUPnP<T> {
  static description = 'Port mapping gateway is unreachable';
}

/** Nothing (valid) came back within the time budget. `data`: `{ method, timeoutMs }`. */
class ErrorUPnPGatewayTimeout<T> extends baseErrors.ErrorTimeout<T> {
  static description = 'Port mapping gateway did not answer in time';
}

/**
 * The gateway answered with an error. `data`: `{ method, code, reason }`
 * where `code` is the gateway's own result code (NAT-PMP and PCP result
 * codes, UPnP `errorCode`).
 */
class ErrorUPnPMappingRefused<T> extends ErrorUPnP<T> {
  static description = 'Port mapping gateway refused the request';
}

/**
 * An answer that breaks its protocol: malformed or truncated datagrams,
 * garbage XML, a SOAP response without its values, an address that is not an
 * address, a port out of range, an answer to another request.
 */
class ErrorUPnPResponseInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Port mapping gateway sent an invalid answer';
}

/** A body or datagram above the size cap (`maxResponseBytes`); reading stopped there. */
class ErrorUPnPResponseTooLarge<T> extends ErrorUPnPResponseInvalid<T> {
  static description = 'Port mapping gateway answer is too large';
}

/**
 * The gateway reported an external address that is not public (private,
 * shared CGNAT, loopback, link-local, documentation, multicast, reserved):
 * a mapping there is not reachable from the internet (double NAT). The
 * mapping made is deleted again. `data`: `{ method, externalAddress }`.
 * Allowed with `allowNonPublicExternalAddress`.
 */
class ErrorUPnPExternalAddressNotPublic<T> extends ErrorUPnP<T> {
  static description = 'Gateway reported a non-public external address';
}

/** Every method was tried and failed. `data.attempts`: `[{ method, error, message, code? }]`. */
class ErrorUPnPMappingFailed<T> extends ErrorUPnP<T> {
  static description = 'No port mapping method succeeded';
}

export {
  ErrorUPnP,
  ErrorUPnPNotRunning,
  ErrorUPnPConfig,
  ErrorUPnPNoGateway,
  ErrorUPnPGatewayUnreachable,
  ErrorUPnPGatewayTimeout,
  ErrorUPnPMappingRefused,
  ErrorUPnPResponseInvalid,
  ErrorUPnPResponseTooLarge,
  ErrorUPnPExternalAddressNotPublic,
  ErrorUPnPMappingFailed,
};
