import type { PortMappingProtocol } from './types.js';
import { ErrorUPnPMappingRefused, ErrorUPnPResponseInvalid } from './errors.js';
import { decodePcpResponse, encodePcpRequest, pcpResultCodes } from './protocol/pcp.js';
import GatewayUdpClient from './GatewayUdpClient.js';

type Call = { timeoutMs: number; signal?: AbortSignal };

function refused(
  code: number,
  what: string,
  natPmpOnly = false,
): ErrorUPnPMappingRefused<{ method: 'pcp'; code: number; reason: string }> {
  const reason = natPmpOnly
    ? 'UNSUPP_VERSION (the gateway speaks NAT-PMP only)'
    : (pcpResultCodes[code] ?? 'unknown result code');
  return new ErrorUPnPMappingRefused(`PCP gateway refused ${what}: ${code} (${reason})`, {
    data: { method: 'pcp', code, reason },
  });
}

function lie(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`PCP: ${reason}`, { data: { method: 'pcp', reason } });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * PCP (RFC 6887) to one gateway, IPv4 only: ANNOUNCE to find out whether it
 * speaks PCP, MAP to create, renew (same nonce) and delete (lifetime 0)
 * mappings. The client address in each request is the local address of the
 * socket connected to the gateway.
 */
class PcpClient extends GatewayUdpClient {
  protected readonly method = 'pcp';

  /** Resolves with the gateway's epoch if it speaks PCP; rejects (refused, timeout) otherwise. */
  public announce({ timeoutMs, signal }: Call): Promise<{ epoch: number }> {
    return this.exchange(
      'an ANNOUNCE',
      (clientAddress) => encodePcpRequest({ opcode: 'announce', clientAddress }),
      timeoutMs,
      signal,
      (data) => {
        const r = decodePcpResponse(data);
        if (r.opcode !== 'announce') throw lie('a MAP answer to an ANNOUNCE');
        if (!r.ok) throw refused(r.resultCode, 'ANNOUNCE', r.natPmpOnly);
        return { epoch: r.epoch };
      },
    );
  }

  /**
   * MAP: creates, renews (same `nonce`) or, with `lifetimeSeconds` 0, deletes
   * a mapping. Answers with another nonce are not ours and are ignored.
   */
  public map({
    nonce,
    protocol,
    internalPort,
    externalPort,
    externalAddress = '0.0.0.0',
    lifetimeSeconds,
    timeoutMs,
    signal,
  }: Call & {
    nonce: Uint8Array;
    protocol: PortMappingProtocol;
    internalPort: number;
    externalPort: number;
    externalAddress?: string;
    lifetimeSeconds: number;
  }): Promise<{
    externalAddress: string;
    externalPort: number;
    lifetimeSeconds: number;
    epoch: number;
  }> {
    const what = `${lifetimeSeconds === 0 ? 'deleting' : 'mapping'} ${protocol} ${internalPort}`;
    return this.exchange(
      what,
      (clientAddress) =>
        encodePcpRequest({
          opcode: 'map',
          clientAddress,
          lifetimeSeconds,
          nonce,
          protocol,
          internalPort,
          externalPort,
          externalAddress,
        }),
      timeoutMs,
      signal,
      (data) => {
        const r = decodePcpResponse(data);
        if (r.opcode !== 'map') throw lie(`an ANNOUNCE answer to ${what}`);
        if (!r.ok) {
          if (r.nonce != null && !sameBytes(r.nonce, nonce)) return undefined;
          throw refused(r.resultCode, what, r.natPmpOnly);
        }
        if (!sameBytes(r.nonce, nonce)) return undefined;
        if (r.protocol !== protocol || r.internalPort !== internalPort) {
          throw lie(`answer for ${r.protocol} ${r.internalPort} to ${what}`);
        }
        if (lifetimeSeconds > 0 && r.lifetimeSeconds === 0) {
          throw lie(`mapping granted with lifetime 0 for ${what}`);
        }
        return {
          externalAddress: r.externalAddress,
          externalPort: r.externalPort,
          lifetimeSeconds: r.lifetimeSeconds,
          epoch: r.epoch,
        };
      },
    );
  }
}

export default PcpClient;
