import { errors as baseErrors } from '@node-network/network-interface';

class ErrorNodeGraph<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'NodeGraph error';
}

class ErrorNodeGraphNotRunning<T> extends ErrorNodeGraph<T> {
  static description = 'NodeGraph is not running';
}

class ErrorNodeGraphInvalidContact<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Invalid contact or address';
}

class ErrorNodeGraphSelf<T> extends ErrorNodeGraph<T> {
  static description = 'A node does not keep itself in its table';
}

export {
  ErrorNodeGraph,
  ErrorNodeGraphNotRunning,
  ErrorNodeGraphInvalidContact,
  ErrorNodeGraphSelf,
};
