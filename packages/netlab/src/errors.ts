import { errors as baseErrors } from '@node-network/network-interface';

class ErrorNetlab<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Network lab error';
}

/** A command that builds or drives the lab failed; `data` has its argv and stderr. */
class ErrorNetlabCommand<T> extends ErrorNetlab<T> {
  static description = 'Lab command failed';
}

class ErrorNetlabUnavailable<T> extends ErrorNetlab<T> {
  static description = 'Network labs need root and iproute2/nftables';
}

export { ErrorNetlab, ErrorNetlabCommand, ErrorNetlabUnavailable };
