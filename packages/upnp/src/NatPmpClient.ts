import type { PortMappingProtocol } from './types.js';
import { ErrorUPnPMappingRefused, ErrorUPnPResponseInvalid } from './errors.js';
import { decodeNatPmpResponse, encodeNatPmpRequest, natPmpResultCodes } from './protocol/natpmp.js';
import GatewayUdpClient from './GatewayUdpClient.js';

type Call = { timeoutMs: number; signal?: AbortSignal };

function refused(
  code: number,
  what: string,
): ErrorUPnPMappingRefused<{
  method: 'natpmp';
  code: number;
  reason: string;
}> {
  const reason = natPmpResultCodes[code] ?? 'unknown result code';
  return new ErrorUPnPMappingRefused(`NAT-PMP gateway refused ${what}: ${code} (${reason})`, {
    data: { method: 'natpmp', code, reason },
  });
}

function lie(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`NAT-PMP: ${reason}`, { data: { method: 'natpmp', reason } });
}

/** NAT-PMP (RFC 6886) requests to one gateway; every call is one `udpExchange`. */
class NatPmpClient extends GatewayUdpClient {
  protected readonly method = 'natpmp';

  /** The gateway's external address and its epoch (seconds since its mapping table started). */
  public externalAddress({
    timeoutMs,
    signal,
  }: Call): Promise<{ externalAddress: string; epoch: number }> {
    return this.exchange(
      'an external address request',
      encodeNatPmpRequest({ op: 'external-address' }),
      timeoutMs,
      signal,
      (data) => {
        const r = decodeNatPmpResponse(data);
        if (r.op !== 'external-address')
          throw lie('a mapping answer to an external address request');
        if (!r.ok) throw refused(r.resultCode, 'the external address request');
        return { externalAddress: r.externalAddress, epoch: r.epoch };
      },
    );
  }

  /**
   * Asks for (or renews) a mapping; `lifetimeSeconds` 0 deletes it. Resolves
   * with what the gateway granted, which may be another external port and
   * another lifetime than asked.
   */
  public map({
    protocol,
    internalPort,
    externalPort,
    lifetimeSeconds,
    timeoutMs,
    signal,
  }: Call & {
    protocol: PortMappingProtocol;
    internalPort: number;
    externalPort: number;
    lifetimeSeconds: number;
  }): Promise<{ externalPort: number; lifetimeSeconds: number; epoch: number }> {
    const what = `${lifetimeSeconds === 0 ? 'deleting' : 'mapping'} ${protocol} ${internalPort}`;
    const payload = encodeNatPmpRequest({
      op: 'map',
      protocol,
      internalPort,
      externalPort,
      lifetimeSeconds,
    });
    return this.exchange(what, payload, timeoutMs, signal, (data) => {
      const r = decodeNatPmpResponse(data);
      if (r.op !== 'map') throw lie(`an external address answer to ${what}`);
      if (r.protocol !== protocol) throw lie(`a ${r.protocol} answer to ${what}`);
      if (!r.ok) throw refused(r.resultCode, what);
      if (r.internalPort !== internalPort) {
        throw lie(`answer for internal port ${r.internalPort} to ${what}`);
      }
      if (lifetimeSeconds > 0 && r.lifetimeSeconds === 0) {
        throw lie(`mapping granted with lifetime 0 for ${what}`);
      }
      return { externalPort: r.externalPort, lifetimeSeconds: r.lifetimeSeconds, epoch: r.epoch };
    });
  }
}

export default NatPmpClient;
