import type { JSONObject, JSONValue } from '@matrixai/rpc';
import { UnaryHandler } from '../rpc/matrixaiRpc.js';
import { ErrorRPCRequestInvalid } from '../errors.js';

type ObservedAddress = { host: string; port: number };

/**
 * `observedAddress`: answers the source address this node saw the call come
 * from: the caller's reflexive address, which NAT detection builds on.
 */
class ObservedAddressHandler extends UnaryHandler<{}, JSONObject, ObservedAddress> {
  public handle = async (
    _input: JSONObject,
    _cancel: (reason?: unknown) => void,
    meta: Record<string, JSONValue> | undefined,
  ): Promise<ObservedAddress> => {
    if (meta?.path === 'relayed' || meta?.path === 'websocket') {
      throw new ErrorRPCRequestInvalid(
        `observedAddress over a ${String(meta.path)} connection: the address seen is not your UDP address`,
      );
    }
    return { host: String(meta?.remoteHost), port: Number(meta?.remotePort) };
  };
}

export default ObservedAddressHandler;
export type { ObservedAddress };
