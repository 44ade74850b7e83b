import { errors as baseErrors } from '@node-network/network-interface';

class ErrorNodeNetworkFacade<T> extends baseErrors.ErrorNodeNetwork<T> {
  static description = 'NodeNetwork error';
}

class ErrorNodeNetworkNotRunning<T> extends ErrorNodeNetworkFacade<T> {
  static description = 'NodeNetwork is not running';
}

class ErrorNodeNetworkConfig<T> extends ErrorNodeNetworkFacade<T> {
  static description = 'NodeNetwork configuration is invalid';
}

/** `connect` was asked for a node with no given and no known address. */
class ErrorNodeNetworkNodeUnknown<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'No address is known for the node';
}

/** `connect` found no path: the direct dial and signalling with punching both failed (data says how). */
class ErrorNodeNetworkConnect<T> extends baseErrors.ErrorConnectionDial<T> {
  static description = 'No path to the node';
}

class ErrorNodeNetworkNATProbe<T> extends ErrorNodeNetworkFacade<T> {
  static description = 'NAT probing is not possible with this peer';
}

/** A Polykey 1.x agent message that does not parse, or whose signature does not verify. */
class ErrorPolykeyMessageInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Polykey 1.x message is invalid';
}

/** The persisted audit log cannot be read or written. */
class ErrorNodeNetworkAudit<T> extends ErrorNodeNetworkFacade<T> {
  static description = 'Audit store error';
}

/** A stored audit record (or its key) does not decode: corrupt or from an unknown version. */
class ErrorAuditRecordInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Stored audit record is invalid';
}

/** A metric or label name that the Prometheus text format does not allow. */
class ErrorMetricsInvalid<T> extends ErrorNodeNetworkFacade<T> {
  static description = 'Metric is invalid';
}

/** A network snapshot (dashboard input) that does not decode. */
class ErrorNetworkSnapshotInvalid<T> extends baseErrors.ErrorCodec<T> {
  static description = 'Network snapshot is invalid';
}

/** Where the dashboard takes its snapshots from did not answer with one. */
class ErrorSnapshotSource<T> extends ErrorNodeNetworkFacade<T> {
  static description = 'Snapshot source failed';
}

/** A local HTTP endpoint (metrics, dashboard) could not start. */
class ErrorNodeNetworkHttp<T> extends ErrorNodeNetworkFacade<T> {
  static description = 'Local HTTP endpoint failed';
}

export {
  ErrorNodeNetworkAudit,
  ErrorAuditRecordInvalid,
  ErrorMetricsInvalid,
  ErrorNetworkSnapshotInvalid,
  ErrorSnapshotSource,
  ErrorNodeNetworkHttp,
  ErrorPolykeyMessageInvalid,
  ErrorNodeNetworkConnect,
  ErrorNodeNetworkNATProbe,
  ErrorNodeNetworkFacade,
  ErrorNodeNetworkNotRunning,
  ErrorNodeNetworkConfig,
  ErrorNodeNetworkNodeUnknown,
};
