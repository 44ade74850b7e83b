import { errors as baseErrors } from '@node-network/network-interface';

class ErrorNATProbe<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'NAT probe failed';
}

/** The probe server did not answer a request that needed no NAT state (a delay-0 probe). */
class ErrorNATProbeUnanswered<T> extends ErrorNATProbe<T> {
  static description = 'The NAT probe server did not answer';
}

/** A probe was asked for with unusable parameters (intervals, timeouts, attempts). */
class ErrorNATProbeParameters<T> extends ErrorNATProbe<T> {
  static description = 'Invalid NAT probe parameters';
}

/** A NAT probe datagram failed validation (or a message could not be encoded). */
class ErrorNATProbeMessage<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Malformed NAT probe message';
}

export { ErrorNATProbe, ErrorNATProbeUnanswered, ErrorNATProbeParameters, ErrorNATProbeMessage };
