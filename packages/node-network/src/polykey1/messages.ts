import type { NodeId } from '@node-network/network-interface';
import * as identity from '@node-network/network-identity';
import { addresses as addressUtils } from '@node-network/transport';
import { ErrorPolykeyMessageInvalid } from '../errors.js';

/**
 * The codec of Polykey 1.x's networking messages (agent RPC, JSON), and the
 * bytes its signalling signatures cover. Every parse takes untrusted input
 * and returns typed values or throws `ErrorPolykeyMessageInvalid`.
 */

type PolykeyAddress = { host: string; port: number };
type NodeContactAddressData = {
  mode: 'direct' | 'signal' | 'relay';
  connectedTime: number;
  scopes: Array<'local' | 'global'>;
};
/** Polykey's NodeContact: `"<host>-<port>"` -> how the address was learnt. */
type NodeContact = Record<string, NodeContactAddressData>;
type SignalFinal = {
  source: NodeId;
  target: NodeId;
  address: PolykeyAddress;
  requestSignature: Uint8Array;
  relaySignature: Uint8Array;
};

/** Polykey keeps at most 5 addresses per node; a NodeContact with more is refused. */
const maxContactAddresses = 8;

function invalid(why: string, cause?: unknown): never {
  throw new ErrorPolykeyMessageInvalid(why, cause == null ? undefined : { cause });
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x != null && typeof x === 'object' && !Array.isArray(x);
}

function nodeIdField(o: Record<string, unknown>, field: string): NodeId {
  const text = o[field];
  if (typeof text !== 'string' || text.length > 100) invalid(`${field} is not a NodeId string`);
  try {
    return identity.decodeNodeId(text);
  } catch (e) {
    return invalid(`${field} is not a NodeId`, e);
  }
}

function signatureField(o: Record<string, unknown>, field: string): Uint8Array {
  const text = o[field];
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(text)) {
    invalid(`${field} is not a base64url Ed25519 signature`);
  }
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

function addressField(x: unknown): PolykeyAddress {
  if (!isObject(x) || typeof x.host !== 'string' || typeof x.port !== 'number') {
    invalid('address is not {host, port}');
  }
  try {
    const a = addressUtils.toAddress(x.host, x.port);
    if (a.port === 0) invalid('address port is 0');
    return { host: x.host, port: a.port };
  } catch (e) {
    if (e instanceof ErrorPolykeyMessageInvalid) throw e;
    return invalid('address is not an IP address and port', e);
  }
}

/** `{nodeIdEncoded}`: the request of both closest-nodes methods. */
function parseNodeIdMessage(x: unknown): NodeId {
  if (!isObject(x)) invalid('request is not an object');
  return nodeIdField(x, 'nodeIdEncoded');
}

/** `nodesConnectionSignalInitial`'s request. */
function parseSignalInitial(x: unknown): { target: NodeId; signature: Uint8Array } {
  if (!isObject(x)) invalid('request is not an object');
  return {
    target: nodeIdField(x, 'targetNodeIdEncoded'),
    signature: signatureField(x, 'signature'),
  };
}

/** `nodesConnectionSignalInitial`'s answer: where the relay sees the target. */
function parseSignalInitialAnswer(x: unknown): PolykeyAddress {
  return addressField(x);
}

/** `nodesConnectionSignalFinal`'s request. */
function parseSignalFinal(x: unknown): SignalFinal {
  if (!isObject(x)) invalid('request is not an object');
  return {
    source: nodeIdField(x, 'sourceNodeIdEncoded'),
    target: nodeIdField(x, 'targetNodeIdEncoded'),
    address: addressField(x.address),
    requestSignature: signatureField(x, 'requestSignature'),
    relaySignature: signatureField(x, 'relaySignature'),
  };
}

/** One `nodesClosestLocalNodesGet` answer: the node and its addresses as `host:port` text. */
function parseClosestLocalNode(x: unknown): { nodeId: NodeId; addresses: Array<string> } {
  if (!isObject(x)) invalid('answer is not an object');
  const nodeId = nodeIdField(x, 'nodeIdEncoded');
  if (!isObject(x.nodeContact)) invalid('nodeContact is not an object');
  const keys = Object.keys(x.nodeContact);
  if (keys.length > maxContactAddresses) invalid(`nodeContact has ${keys.length} addresses`);
  const addresses: Array<string> = [];
  for (const key of keys) {
    const dash = key.lastIndexOf('-');
    const host = key.slice(0, dash);
    const port = Number(key.slice(dash + 1));
    if (dash < 1 || !/^[0-9]{1,5}$/.test(key.slice(dash + 1)) || port < 1 || port > 65535) {
      invalid(`nodeContact key ${JSON.stringify(key.slice(0, 80))} is not host-port`);
    }
    const data = x.nodeContact[key];
    if (!isObject(data)) invalid('nodeContact data is not an object');
    // Only addresses a dial can use: direct ones on IP literals (hostnames are not resolved here).
    if (data.mode !== 'direct') continue;
    const text = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    if (addressUtils.tryParseAddress(text) != null) addresses.push(text);
  }
  return { nodeId, addresses };
}

/** One `nodesClosestActiveConnectionsGet` answer: the node and where its connections come from. */
function parseClosestActiveConnection(x: unknown): { nodeId: NodeId; addresses: Array<string> } {
  if (!isObject(x)) invalid('answer is not an object');
  const nodeId = nodeIdField(x, 'nodeId');
  if (!isObject(x.connections)) invalid('connections is not an object');
  const entries = Object.values(x.connections);
  if (entries.length > maxContactAddresses) invalid(`${entries.length} connections listed`);
  const addresses: Array<string> = [];
  for (const c of entries) {
    const a = addressField(c);
    addresses.push(a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);
  }
  return { nodeId, addresses };
}

/** Our addresses (`host:port` text) as a Polykey NodeContact: direct, global. */
function encodeNodeContact(addresses: ReadonlyArray<string>, now: number): NodeContact {
  const contact: NodeContact = {};
  for (const text of addresses.slice(0, 5)) {
    const a = addressUtils.tryParseAddress(text);
    if (a == null) continue;
    contact[`${a.host}-${a.port}`] = { mode: 'direct', connectedTime: now, scopes: ['global'] };
  }
  return contact;
}

/** What the requester signs: `<source NodeId><target NodeId>`. */
function signalRequestData(source: NodeId, target: NodeId): Uint8Array {
  return Buffer.concat([source, target]);
}

/** What the relay signs: `<source><target><utf8 JSON of the address><request signature>`. */
function signalRelayData(
  source: NodeId,
  target: NodeId,
  address: PolykeyAddress,
  requestSignature: Uint8Array,
): Uint8Array {
  return Buffer.concat([
    source,
    target,
    Buffer.from(JSON.stringify({ host: address.host, port: address.port }), 'utf8'),
    requestSignature,
  ]);
}

/** Checks a SignalFinal's two signatures (the source's and the relaying peer's); throws typed. */
function verifySignalFinal(m: SignalFinal, relay: NodeId): void {
  if (!identity.verify(m.source, signalRequestData(m.source, m.target), m.requestSignature)) {
    invalid('request signature does not verify');
  }
  const relayData = signalRelayData(m.source, m.target, m.address, m.requestSignature);
  if (!identity.verify(relay, relayData, m.relaySignature)) {
    invalid('relay signature does not verify');
  }
}

/** Orders `a` before `b` when it is closer to `target` by XOR distance. */
function compareDistance(target: NodeId, a: NodeId, b: NodeId): number {
  for (let i = 0; i < target.length; i++) {
    const d = (a[i] ^ target[i]) - (b[i] ^ target[i]);
    if (d !== 0) return d;
  }
  return 0;
}

export type { PolykeyAddress, NodeContact, NodeContactAddressData, SignalFinal };
export {
  parseNodeIdMessage,
  parseSignalInitial,
  parseSignalInitialAnswer,
  parseSignalFinal,
  parseClosestLocalNode,
  parseClosestActiveConnection,
  encodeNodeContact,
  signalRequestData,
  signalRelayData,
  verifySignalFinal,
  compareDistance,
};
