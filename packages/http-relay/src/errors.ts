import { errors as baseErrors } from '@node-network/network-interface';

class ErrorHttpRelay<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'HTTP relay connection failed';
}

/** The HTTP proxy answered CONNECT with something other than 200. */
class ErrorProxyRefused<T> extends ErrorHttpRelay<T> {
  static description = 'The HTTP proxy refused CONNECT';
}

/** The HTTP proxy could not be reached, or broke off before answering. */
class ErrorProxyUnreachable<T> extends ErrorHttpRelay<T> {
  static description = 'The HTTP proxy could not be reached';
}

/** The relay's WebSocket endpoint could not be reached or refused the upgrade. */
class ErrorHttpRelayUnreachable<T> extends ErrorHttpRelay<T> {
  static description = 'The HTTP relay could not be reached';
}

/** A WebSocket peer broke the protocol (a text frame, a malformed tunnel). */
class ErrorHttpRelayProtocol<T> extends baseErrors.ErrorCodec<T> {
  static description = 'HTTP relay protocol violated';
}

/** A proxy setting or relay URL is not usable. */
class ErrorHttpRelayConfig<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Bad HTTP relay or proxy setting';
}

export {
  ErrorHttpRelay,
  ErrorProxyRefused,
  ErrorProxyUnreachable,
  ErrorHttpRelayUnreachable,
  ErrorHttpRelayProtocol,
  ErrorHttpRelayConfig,
};
