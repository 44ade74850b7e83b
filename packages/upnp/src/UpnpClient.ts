import type { Clock } from '@node-network/network-interface';
import type Logger from '@matrixai/logger';
import type { HttpRequest, PortMappingProtocol, UdpSocketFactory } from './types.js';
import { ErrorUPnPMappingRefused, ErrorUPnPNoGateway, ErrorUPnPResponseInvalid } from './errors.js';
import { parseDescription, selectWanService } from './protocol/igd.js';
import { isIPv4 } from './protocol/ipv4.js';
import { decodeSoapResponse, encodeSoapRequest, upnpErrorCodes } from './protocol/soap.js';
import deadline from './deadline.js';
import ssdpSearch from './ssdpSearch.js';

type Call = { timeoutMs: number; signal?: AbortSignal };

/** IGDv2 caps leases at a week (WANIPConnection:2 §2.3.16). */
const maxLeaseSeconds = 604800;

function invalid(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`UPnP: ${reason}`, { data: { method: 'upnp', reason } });
}

/**
 * A UPnP Internet Gateway Device's port-mapping service
 * (WANIPConnection:1/2 or WANPPPConnection:1), found by `discover` (SSDP,
 * then the device description), driven with SOAP over HTTP.
 */
class UpnpClient {
  /**
   * SSDP search, then the description of each answering device in turn
   * until one has a port-mapping service. `timeoutMs` bounds the whole
   * (the descriptions get at least `answerTimeoutMs` when the search ended
   * late).
   * Rejects with `ErrorUPnPGatewayTimeout`, `ErrorUPnPNoGateway` (devices
   * answered but none maps ports), `ErrorUPnPResponseInvalid`,
   * `ErrorUPnPGatewayUnreachable` or `ErrorCancelled`.
   */
  public static async discover({
    ssdp,
    bindAddress,
    preferredResponder,
    clock,
    socketFactory,
    http,
    timeoutMs,
    answerTimeoutMs,
    maxResponseBytes,
    signal,
    logger,
  }: {
    ssdp: { host: string; port: number };
    bindAddress?: string;
    preferredResponder?: string;
    clock: Clock;
    socketFactory: UdpSocketFactory;
    http: HttpRequest;
    timeoutMs: number;
    answerTimeoutMs: number;
    maxResponseBytes: number;
    signal?: AbortSignal;
    logger: Logger;
  }): Promise<UpnpClient> {
    const t0 = clock.now();
    const candidates = await ssdpSearch({
      target: ssdp,
      bindAddress,
      preferredResponder,
      clock,
      socketFactory,
      timeoutMs,
      answerTimeoutMs,
      signal,
      logger,
    });
    // The descriptions get what is left of the budget, and at least one answer wait.
    const d = deadline({
      clock,
      timeoutMs: Math.max(answerTimeoutMs, timeoutMs - (clock.now() - t0)),
      outer: signal,
      what: 'UPnP discovery',
      method: 'upnp',
    });
    try {
      let firstError: Error | undefined;
      for (const c of candidates) {
        try {
          const res = await http({
            url: c.location,
            method: 'GET',
            headers: {},
            maxBytes: maxResponseBytes,
            localAddress: bindAddress,
            signal: d.signal,
          });
          if (res.status !== 200)
            throw invalid(`description ${c.location} answered HTTP ${res.status}`);
          const service = selectWanService(
            parseDescription(res.body, c.location, maxResponseBytes),
          );
          if (service == null) {
            throw new ErrorUPnPNoGateway(
              `${c.location} lists no WANIPConnection or WANPPPConnection service`,
              { data: { method: 'upnp' } },
            );
          }
          const internalClient = bindAddress ?? res.localAddress;
          if (internalClient == null || !isIPv4(internalClient)) {
            throw new ErrorUPnPNoGateway(`No local IPv4 address toward ${c.location}`, {
              data: { method: 'upnp' },
            });
          }
          return new UpnpClient({
            location: c.location,
            serviceType: service.serviceType,
            controlUrl: service.controlUrl,
            internalClient,
            bindAddress,
            clock,
            http,
            maxResponseBytes,
            logger,
          });
        } catch (e) {
          if (d.signal.aborted) throw d.signal.reason;
          logger.warn(`UPnP device at ${c.location} is not usable: ${(e as Error).message}`);
          firstError ??= e as Error;
        }
      }
      throw firstError!;
    } catch (e) {
      if (d.signal.aborted) throw d.signal.reason;
      throw e;
    } finally {
      d.cancel();
    }
  }

  public readonly location: string;
  public readonly serviceType: string;
  public readonly controlUrl: string;
  /** Our LAN address, as mappings name it (NewInternalClient). */
  public readonly internalClient: string;
  protected bindAddress?: string;
  protected clock: Clock;
  protected http: HttpRequest;
  protected maxResponseBytes: number;
  protected logger: Logger;

  public constructor(o: {
    location: string;
    serviceType: string;
    controlUrl: string;
    internalClient: string;
    bindAddress?: string;
    clock: Clock;
    http: HttpRequest;
    maxResponseBytes: number;
    logger: Logger;
  }) {
    this.location = o.location;
    this.serviceType = o.serviceType;
    this.controlUrl = o.controlUrl;
    this.internalClient = o.internalClient;
    this.bindAddress = o.bindAddress;
    this.clock = o.clock;
    this.http = o.http;
    this.maxResponseBytes = o.maxResponseBytes;
    this.logger = o.logger;
  }

  /** GetExternalIPAddress; rejects with `ErrorUPnPResponseInvalid` when it is not an IPv4 address. */
  public async externalAddress(call: Call): Promise<string> {
    const values = await this.call('GetExternalIPAddress', [], call);
    const address = values.get('NewExternalIPAddress');
    if (address == null)
      throw invalid('GetExternalIPAddress answered without NewExternalIPAddress');
    if (!isIPv4(address)) {
      throw invalid(
        `external address ${JSON.stringify(address.slice(0, 64))} is not an IPv4 address`,
      );
    }
    return address;
  }

  /**
   * Maps `externalPort` to our `internalPort`. With `exact` false on an IGDv2
   * service this is AddAnyPortMapping and the gateway may reserve another
   * port (resolved with it); otherwise AddPortMapping for exactly
   * `externalPort` (renewals). A gateway that only takes permanent leases
   * (error 725) gets one, said in the log; `leaseSeconds` is then 0.
   */
  public async addPortMapping({
    protocol,
    externalPort,
    internalPort,
    lifetimeSeconds,
    description,
    exact,
    ...call
  }: Call & {
    protocol: PortMappingProtocol;
    externalPort: number;
    internalPort: number;
    lifetimeSeconds: number;
    description: string;
    exact: boolean;
  }): Promise<{ externalPort: number; leaseSeconds: number }> {
    const any = !exact && this.serviceType.endsWith(':2');
    const lease = Math.min(maxLeaseSeconds, Math.max(1, Math.round(lifetimeSeconds)));
    const args = (leaseSeconds: number): Array<[string, string | number]> => [
      ['NewRemoteHost', ''],
      ['NewExternalPort', externalPort],
      ['NewProtocol', protocol.toUpperCase()],
      ['NewInternalPort', internalPort],
      ['NewInternalClient', this.internalClient],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', description],
      ['NewLeaseDuration', leaseSeconds],
    ];
    const action = any ? 'AddAnyPortMapping' : 'AddPortMapping';
    let leaseSeconds = lease;
    let values: Map<string, string>;
    try {
      values = await this.call(action, args(lease), call);
    } catch (e) {
      if (!(e instanceof ErrorUPnPMappingRefused) || (e.data as { code?: number }).code !== 725)
        throw e;
      this.logger.warn(
        `${this.location} takes only permanent leases (725): mapping ${protocol} ${externalPort} without a lease; stop() deletes it`,
      );
      leaseSeconds = 0;
      values = await this.call(action, args(0), call);
    }
    if (!any) return { externalPort, leaseSeconds };
    const reserved = values.get('NewReservedPort') ?? '';
    if (!/^[0-9]{1,5}$/.test(reserved) || Number(reserved) < 1 || Number(reserved) > 0xffff) {
      throw invalid(`AddAnyPortMapping reserved port ${JSON.stringify(reserved.slice(0, 20))}`);
    }
    return { externalPort: Number(reserved), leaseSeconds };
  }

  /** DeletePortMapping; resolves `false` if the gateway had no such mapping (714). */
  public async deletePortMapping({
    protocol,
    externalPort,
    ...call
  }: Call & { protocol: PortMappingProtocol; externalPort: number }): Promise<boolean> {
    try {
      await this.call(
        'DeletePortMapping',
        [
          ['NewRemoteHost', ''],
          ['NewExternalPort', externalPort],
          ['NewProtocol', protocol.toUpperCase()],
        ],
        call,
      );
      return true;
    } catch (e) {
      if (e instanceof ErrorUPnPMappingRefused && (e.data as { code?: number }).code === 714) {
        return false;
      }
      throw e;
    }
  }

  /** One SOAP action; a fault rejects with `ErrorUPnPMappingRefused` carrying its `errorCode`. */
  protected async call(
    action: string,
    args: Array<[string, string | number]>,
    { timeoutMs, signal }: Call,
  ): Promise<Map<string, string>> {
    const { body, soapAction } = encodeSoapRequest(this.serviceType, action, args);
    const d = deadline({
      clock: this.clock,
      timeoutMs,
      outer: signal,
      what: `UPnP ${action} at ${this.controlUrl}`,
      method: 'upnp',
    });
    let res;
    try {
      res = await this.http({
        url: this.controlUrl,
        method: 'POST',
        headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: soapAction },
        body,
        maxBytes: this.maxResponseBytes,
        localAddress: this.bindAddress,
        signal: d.signal,
      });
    } catch (e) {
      if (d.signal.aborted) throw d.signal.reason;
      throw e;
    } finally {
      d.cancel();
    }
    const r = decodeSoapResponse(res.status, res.body, action, this.maxResponseBytes);
    if (!r.ok) {
      const reason =
        r.description || (r.code != null ? upnpErrorCodes[r.code] : '') || 'SOAP fault';
      throw new ErrorUPnPMappingRefused(
        `UPnP gateway refused ${action}: ${r.code ?? 'no code'} (${reason})`,
        { data: { method: 'upnp', code: r.code, reason } },
      );
    }
    return r.values;
  }
}

export default UpnpClient;
