import type { JSONObject } from '@matrixai/rpc';
import { UnaryHandler } from '../rpc/matrixaiRpc.js';

/** `ping`: answers `{}` at once. Its round trip is the liveness check. */
class PingHandler extends UnaryHandler<{}, JSONObject, JSONObject> {
  public handle = async (): Promise<JSONObject> => ({});
}

export default PingHandler;
