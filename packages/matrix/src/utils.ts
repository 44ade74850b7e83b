import type { NATClassification } from '@node-network/signalling';
import type { KindNat } from './types.js';

/** An error as one line for the report: its class and message, bounded. */
function errorText(e: unknown): string {
  const err = e as { name?: string; message?: string };
  const text = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
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

export { errorText, natSummary };
