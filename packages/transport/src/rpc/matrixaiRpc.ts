/**
 * @matrixai/rpc 0.5.x is CommonJS whose named exports Node's ESM loader
 * cannot see; this module takes them from the default export once, so the
 * rest of node-network imports them by name from here.
 */
import rpcModule from '@matrixai/rpc';

const {
  RPCClient,
  RPCServer,
  UnaryHandler,
  ServerHandler,
  ClientHandler,
  DuplexHandler,
  RawHandler,
} = rpcModule;

type RPCClient<M extends import('@matrixai/rpc').ClientManifest> =
  import('@matrixai/rpc').RPCClient<M>;
type RPCServer = import('@matrixai/rpc').RPCServer;

export {
  RPCClient,
  RPCServer,
  UnaryHandler,
  ServerHandler,
  ClientHandler,
  DuplexHandler,
  RawHandler,
};
export type {
  JSONObject,
  JSONValue,
  RPCStream,
  ServerManifest,
  ClientManifest,
  ContainerType,
} from '@matrixai/rpc';
