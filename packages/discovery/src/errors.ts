import { errors as baseErrors } from '@node-network/network-interface';

class ErrorDiscovery<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'Discovery error';
}

class ErrorMdns<T> extends ErrorDiscovery<T> {
  static description = 'mDNS discovery error';
}

/** A DNS message failed to decode or encode; `data.offset` is where decoding stopped. */
class ErrorMdnsCodec<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Malformed DNS message';
}

/** A method was called while the discovery was not running. */
class ErrorMdnsNotRunning<T> extends ErrorMdns<T> {
  static description = 'mDNS discovery is not running';
}

/** The advertisement given is invalid (NodeId, network id, port or addresses). */
class ErrorMdnsAdvertInvalid<T> extends ErrorMdns<T> {
  static description = 'mDNS advertisement is invalid';
}

/** The backend asked for is unavailable (no avahi-daemon, tools missing, or no usable interface). */
class ErrorMdnsBackendUnavailable<T> extends ErrorMdns<T> {
  static description = 'mDNS backend is unavailable';
}

/** The backend failed while running (avahi child exited, socket error). */
class ErrorMdnsBackend<T> extends ErrorMdns<T> {
  static description = 'mDNS backend failed';
}

/** Another responder on the link claims our unique records (another process with our NodeId). */
class ErrorMdnsConflict<T> extends ErrorMdns<T> {
  static description = 'Another responder claims our mDNS records';
}

export {
  ErrorDiscovery,
  ErrorMdns,
  ErrorMdnsCodec,
  ErrorMdnsNotRunning,
  ErrorMdnsAdvertInvalid,
  ErrorMdnsBackendUnavailable,
  ErrorMdnsBackend,
  ErrorMdnsConflict,
};
