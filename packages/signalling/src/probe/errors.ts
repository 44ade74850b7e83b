import { errors as baseErrors } from '@node-network/network-interface';

class ErrorNATProbe<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'NAT probe failed';
}

class ErrorNATProbeUnanswered<T> extends ErrorNATProbe<T> {
  static description = 'The NAT probe server did not answer';
}

export { ErrorNATProbe, ErrorNATProbeUnanswered };
