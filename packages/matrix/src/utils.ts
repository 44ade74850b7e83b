import type { NATClassification } from '@node-network/signalling';
import type { NodeNetwork } from 'node-network';
import type { KindNat, PairResult } from './types.js';

/** An error as one line for the report: its class and message, bounded. */
function errorText(e: unknown): string {
  const err = e as { name?: string; message?: string };
  const text = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
  return text.length > 1200 ? `${text.slice(0, 1197)}...` : text;
}

/** The part of a NAT classification the matrix reports. */
function natSummary(c: NATClassification): KindNat['ipv4'] {
  return {
    mapping: c.mapping,
    allocation: c.allocation,
    portPreservation: c.portPreservation,
    filtering: c.filtering,
    observers: c.observers,
  };
}

/** One pair's attempt: `from` connects to `nodeId` by NodeId only; the outcome as the matrix reports it. */
async function tryConnect(
  from: NodeNetwork,
  nodeId: string,
  timeoutMs: number,
  addresses?: Array<string>,
): Promise<Omit<PairResult, 'a' | 'b'>> {
  try {
    const r = await from.connect(nodeId, addresses, { timer: timeoutMs });
    // A relayed pair says how the relay carries it (datagram forwarding or the stream fallback).
    const circuit =
      r.path === 'relayed'
        ? from.status().connections.find((c) => c.nodeId === nodeId)?.circuit
        : undefined;
    return {
      connected: true,
      path: r.path,
      ...(circuit != null ? { circuit } : {}),
      connectMs: r.durationMs,
      error: null,
    };
  } catch (e) {
    return { connected: false, path: null, connectMs: null, error: errorText(e) };
  }
}

export { errorText, natSummary, tryConnect };
