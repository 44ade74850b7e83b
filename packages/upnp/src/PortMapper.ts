import type { Clock, TimerHandle } from '@node-network/network-interface';
import type {
  DefaultGatewayLookup,
  GatewayStatus,
  HttpRequest,
  PortMapperConfig,
  PortMapping,
  PortMappingAttempt,
  PortMappingMethod,
  PortMappingProtocol,
  PortMappingRequest,
  UdpSocketFactory,
} from './types.js';
import { randomBytes } from 'node:crypto';
import Logger from '@matrixai/logger';
import { StartStop, ready } from '@matrixai/async-init/StartStop.js';
import { errors as baseErrors } from '@node-network/network-interface';
import { RealClock } from '@node-network/transport';
import * as errors from './errors.js';
import { checkConfig, checkRequest, methodNames, portMapperConfigDefault } from './config.js';
import * as events from './events.js';
import { isIPv4, isPublicIPv4 } from './protocol/ipv4.js';
import { pcpNonceBytes } from './protocol/pcp.js';
import { renewalDelayMs, renewalRetryDelayMs } from './protocol/schedule.js';
import NatPmpClient from './NatPmpClient.js';
import PcpClient from './PcpClient.js';
import UpnpClient from './UpnpClient.js';
import defaultGatewayFromProc from './defaultGateway.js';
import nodeHttpRequest from './nodeHttpRequest.js';
import nodeUdpSocket from './nodeUdpSocket.js';

type Entry = {
  key: string;
  mapping: PortMapping;
  request: Required<Omit<PortMappingRequest, 'externalPort'>>;
  /** PCP's mapping nonce (renewals and deletion reuse it). */
  nonce?: Uint8Array;
  /** `clock.now()` at which the lease runs out. */
  expiresAtMono: number;
  timer?: TimerHandle;
};

type Granted = { mapping: PortMapping; nonce?: Uint8Array };

function errorInfo(e: unknown): { name: string; message: string; code?: number } {
  const err = e as Error & { data?: { code?: number } };
  const code = err?.data?.code;
  return {
    name: err?.name ?? 'Error',
    message: err?.message ?? String(e),
    ...(typeof code === 'number' ? { code } : {}),
  };
}

function keyOf(protocol: PortMappingProtocol, internalPort: number): string {
  return `${protocol}/${internalPort}`;
}

interface PortMapper extends StartStop {}
/**
 * Maps ports on the local gateway so that peers on the internet can reach
 * us: PCP (RFC 6887), NAT-PMP (RFC 6886) and UPnP IGD, tried in the order of
 * `config.methods` (default PCP, NAT-PMP, UPnP).
 *
 * `start` discovers what the gateway offers, every method in parallel
 * within `discoveryTimeoutMs` (PCP ANNOUNCE and a NAT-PMP external address
 * request to the default gateway; SSDP M-SEARCH, the device description and
 * GetExternalIPAddress for UPnP). It never fails because a gateway is
 * missing or mute: that is recorded in `gateways()` and the audit events,
 * and `map` then says so. `map` tries the available methods in order within
 * `mappingTimeoutMs` (each at most `requestTimeoutMs`); leases are renewed at
 * half their lifetime; `stop` deletes every mapping made. Every try is an
 * `EventPortMapperAttempt`.
 */
@StartStop({
  eventStart: events.EventPortMapperStart,
  eventStarted: events.EventPortMapperStarted,
  eventStop: events.EventPortMapperStop,
  eventStopped: events.EventPortMapperStopped,
})
class PortMapper {
  public readonly config: PortMapperConfig;
  protected clock: Clock;
  protected logger: Logger;
  protected defaultGateway: DefaultGatewayLookup;
  protected socketFactory: UdpSocketFactory;
  protected http: HttpRequest;
  protected randomBytes: (n: number) => Uint8Array;
  protected gateway?: string;
  protected pcp?: PcpClient;
  protected natpmp?: NatPmpClient;
  protected upnp?: UpnpClient;
  protected status = new Map<PortMappingMethod, GatewayStatus>();
  protected entries = new Map<string, Entry>();
  protected external?: string;
  /** `clock.now()` when discovery last finished. */
  protected discoveredAt = -Infinity;
  protected lifetime = new AbortController();
  protected inflight = new Set<Promise<unknown>>();
  /** `map` calls under way, by key: a second call for the same port joins the first. */
  protected pending = new Map<string, Promise<PortMapping>>();

  public constructor({
    config = {},
    clock = new RealClock(),
    logger,
    defaultGateway = defaultGatewayFromProc,
    udpSocketFactory = nodeUdpSocket,
    httpRequest = nodeHttpRequest,
    random = (n) => new Uint8Array(randomBytes(n)),
  }: {
    config?: Partial<PortMapperConfig>;
    clock?: Clock;
    logger?: Logger;
    /** Finds the default gateway when `config.gateway` is not set (default: /proc/net/route). */
    defaultGateway?: DefaultGatewayLookup;
    udpSocketFactory?: UdpSocketFactory;
    httpRequest?: HttpRequest;
    /** Random bytes for PCP nonces. */
    random?: (n: number) => Uint8Array;
  } = {}) {
    this.config = { ...portMapperConfigDefault, ...config };
    this.clock = clock;
    this.logger = logger ?? new Logger(this.constructor.name);
    this.defaultGateway = defaultGateway;
    this.socketFactory = udpSocketFactory;
    this.http = httpRequest;
    this.randomBytes = random;
  }

  /**
   * Discovers the gateway's methods (bounded by `discoveryTimeoutMs`, plus
   * one GetExternalIPAddress for UPnP). Rejects only for a bad config or
   * when `signal` aborts.
   */
  public async start({ signal }: { signal?: AbortSignal } = {}): Promise<void> {
    checkConfig(this.config);
    this.logger.info(`Starting ${this.constructor.name} (${this.config.methods.join(', ')})`);
    this.lifetime = new AbortController();
    this.status.clear();
    this.pcp = this.natpmp = this.upnp = undefined;
    this.external = undefined;
    const outer =
      signal != null ? AbortSignal.any([signal, this.lifetime.signal]) : this.lifetime.signal;
    await this.discover(this.config.methods, outer);
    if (signal?.aborted) {
      throw new baseErrors.ErrorCancelled('PortMapper start was cancelled', {
        cause: signal.reason,
      });
    }
    const found = [...this.status.values()].filter((s) => s.available).map((s) => s.method);
    this.logger.info(
      `Started ${this.constructor.name}: ${found.length > 0 ? found.map((m) => methodNames[m]).join(', ') : 'no port mapping gateway'}${this.external != null ? `, external address ${this.external}` : ''}`,
    );
  }

  /** Deletes every mapping made on the gateway (each within `requestTimeoutMs`), then stops. */
  public async stop(): Promise<void> {
    this.logger.info(`Stopping ${this.constructor.name}`);
    this.lifetime.abort(new baseErrors.ErrorCancelled('PortMapper is stopping'));
    for (const e of this.entries.values()) e.timer?.cancel();
    await Promise.allSettled([...this.inflight]);
    const entries = [...this.entries.values()];
    for (const e of entries) e.timer?.cancel(); // a renewal that finished meanwhile set one
    this.entries.clear();
    await Promise.all(entries.map((e) => this.deleteEntry(e, undefined).catch(() => {})));
    this.logger.info(`Stopped ${this.constructor.name}`);
  }

  /** The external address last learned from the gateway (any method), if any. */
  @ready(new errors.ErrorUPnPNotRunning())
  public externalAddress(): string | undefined {
    return this.external;
  }

  /** What discovery found for each enabled method. */
  @ready(new errors.ErrorUPnPNotRunning())
  public gateways(): Array<GatewayStatus> {
    return this.config.methods.map((m) => this.status.get(m) ?? { method: m, available: false });
  }

  /** The mappings held (renewed in the background until `unmap` or `stop`). */
  @ready(new errors.ErrorUPnPNotRunning())
  public mappings(): Array<PortMapping> {
    return [...this.entries.values()].map((e) => e.mapping);
  }

  /**
   * Maps `internalPort` on the gateway, trying the methods discovered at
   * start in the configured order (when none was and the last discovery is
   * `rediscoverAfterMs` old, discovery runs again first). A port already
   * mapped (or being mapped) resolves with that mapping.
   * Rejects with that method's error when one method was tried
   * (`ErrorUPnPMappingRefused`, `ErrorUPnPGatewayTimeout`,
   * `ErrorUPnPResponseInvalid`, `ErrorUPnPExternalAddressNotPublic`, ...),
   * `ErrorUPnPMappingFailed` (with `data.attempts`) when several were,
   * `ErrorUPnPNoGateway` when none is available, `ErrorUPnPConfig` for a bad
   * request, `ErrorCancelled` when `signal` aborts or the mapper stops.
   */
  @ready(new errors.ErrorUPnPNotRunning())
  public async map(
    request: PortMappingRequest,
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<PortMapping> {
    const req = checkRequest(request, this.config.lifetimeSeconds);
    const key = keyOf(req.protocol, req.internalPort);
    const existing = this.entries.get(key);
    if (existing != null) return existing.mapping;
    const under = this.pending.get(key);
    if (under != null) return under;
    const p = this.mapNew(req, request.externalPort ?? req.internalPort, signal);
    this.inflight.add(p);
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(p);
      this.pending.delete(key);
    }
  }

  /**
   * Deletes the mapping of `internalPort` on the gateway and stops renewing
   * it. Rejects with the method's error if the gateway could not be told
   * (the mapping is forgotten all the same and lapses with its lease).
   */
  @ready(new errors.ErrorUPnPNotRunning())
  public async unmap(
    { internalPort, protocol }: { internalPort: number; protocol: PortMappingProtocol },
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const entry = this.entries.get(keyOf(protocol, internalPort));
    if (entry == null) return;
    this.entries.delete(entry.key);
    entry.timer?.cancel();
    await this.deleteEntry(entry, signal);
  }

  protected audit(a: Omit<PortMappingAttempt, 'time'>): void {
    const detail = { time: this.clock.wallTime(), ...a };
    if (a.outcome === 'ok') {
      this.logger.debug(`${methodNames[a.method]} ${a.action}: ok in ${a.durationMs} ms`);
    } else {
      this.logger.warn(
        `${methodNames[a.method]} ${a.action}${a.internalPort != null ? ` ${a.protocol} ${a.internalPort}` : ''} ${a.outcome} after ${a.durationMs} ms: ${a.error?.message}`,
      );
    }
    this.dispatchEvent(new events.EventPortMapperAttempt({ detail }));
  }

  protected learnExternal(address: string, method: PortMappingMethod): void {
    if (address === this.external) return;
    const previous = this.external;
    this.external = address;
    this.logger.info(
      `External address ${previous == null ? 'is' : `changed from ${previous} to`} ${address} (${methodNames[method]})`,
    );
    this.dispatchEvent(
      new events.EventPortMapperExternalAddressChanged({
        detail: { previous, current: address, method },
      }),
    );
  }

  protected checkExternal(address: string, method: PortMappingMethod): void {
    if (this.config.allowNonPublicExternalAddress || isPublicIPv4(address)) return;
    throw new errors.ErrorUPnPExternalAddressNotPublic(
      `${methodNames[method]} gateway reports external address ${address}, which is not public (double NAT?)`,
      { data: { method, externalAddress: address } },
    );
  }

  /** Runs discovery of `methods` in parallel; records each outcome, never throws. */
  protected async discover(methods: Array<PortMappingMethod>, signal: AbortSignal): Promise<void> {
    let gateway = this.config.gateway;
    if (gateway == null) {
      gateway = await this.defaultGateway().catch((e) => {
        this.logger.warn(`Default gateway lookup failed: ${(e as Error).message}`);
        return undefined;
      });
      if (gateway != null && !isIPv4(gateway)) gateway = undefined;
    }
    this.gateway = gateway;
    await Promise.all(methods.map((m) => this.discoverMethod(m, gateway, signal)));
    this.discoveredAt = this.clock.now();
  }

  protected async discoverMethod(
    method: PortMappingMethod,
    gateway: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const t0 = this.clock.now();
    const c = this.config;
    const common = {
      bindAddress: c.localAddress,
      clock: this.clock,
      socketFactory: this.socketFactory,
      initialRetransmitMs: c.answerTimeoutMs,
    };
    let where: string | undefined = gateway;
    try {
      let externalAddress: string | undefined;
      if (method === 'pcp' || method === 'natpmp') {
        if (gateway == null) {
          throw new errors.ErrorUPnPNoGateway(
            'No default IPv4 gateway (none in /proc/net/route, and no `gateway` option)',
            { data: { method } },
          );
        }
        if (method === 'pcp') {
          const client = new PcpClient({ gateway, port: c.pcpPort, ...common });
          await client.announce({ timeoutMs: c.discoveryTimeoutMs, signal });
          this.pcp = client;
        } else {
          const client = new NatPmpClient({ gateway, port: c.natPmpPort, ...common });
          const r = await client.externalAddress({ timeoutMs: c.discoveryTimeoutMs, signal });
          this.checkExternal(r.externalAddress, method);
          externalAddress = r.externalAddress;
          this.natpmp = client;
        }
      } else {
        const client = await UpnpClient.discover({
          ssdp: c.ssdp,
          bindAddress: c.localAddress,
          preferredResponder: gateway,
          clock: this.clock,
          socketFactory: this.socketFactory,
          http: this.http,
          timeoutMs: c.discoveryTimeoutMs,
          answerTimeoutMs: c.answerTimeoutMs,
          maxResponseBytes: c.maxResponseBytes,
          signal,
          logger: this.logger,
        });
        where = client.controlUrl;
        const left = c.discoveryTimeoutMs - (this.clock.now() - t0);
        externalAddress = await client.externalAddress({
          timeoutMs: Math.max(c.answerTimeoutMs, left),
          signal,
        });
        this.checkExternal(externalAddress, method);
        this.upnp = client;
      }
      this.status.set(method, { method, available: true, gateway: where, externalAddress });
      this.audit({
        method,
        action: 'discover',
        outcome: 'ok',
        durationMs: Math.round(this.clock.now() - t0),
        gateway: where,
        externalAddress,
      });
      if (externalAddress != null) this.learnExternal(externalAddress, method);
    } catch (e) {
      const error = errorInfo(e);
      this.status.set(method, { method, available: false, gateway: where, error });
      this.audit({
        method,
        action: 'discover',
        outcome: e instanceof baseErrors.ErrorCancelled ? 'cancelled' : 'failed',
        durationMs: Math.round(this.clock.now() - t0),
        gateway: where,
        error,
      });
    }
  }

  protected async mapNew(
    req: Entry['request'],
    externalPort: number,
    signal: AbortSignal | undefined,
  ): Promise<PortMapping> {
    const c = this.config;
    const t0 = this.clock.now();
    const outer =
      signal != null ? AbortSignal.any([signal, this.lifetime.signal]) : this.lifetime.signal;
    const left = () => c.mappingTimeoutMs - (this.clock.now() - t0);
    if (
      !c.methods.some((m) => this.status.get(m)?.available) &&
      this.clock.now() - this.discoveredAt >= c.rediscoverAfterMs
    ) {
      this.logger.info(`No port mapping method is available: discovering again before mapping`);
      await this.discover(c.methods, outer);
    }
    const failures: Array<{ method: PortMappingMethod; error: Error }> = [];
    for (const method of c.methods) {
      if (!this.status.get(method)?.available) continue;
      if (outer.aborted) break;
      if (left() <= 0) {
        failures.push({
          method,
          error: new errors.ErrorUPnPGatewayTimeout(
            `Not tried: the ${c.mappingTimeoutMs} ms mapping budget was spent`,
            { data: { method, timeoutMs: c.mappingTimeoutMs } },
          ),
        });
        continue;
      }
      try {
        const granted = await this.attempt(method, req, {
          action: 'map',
          externalPort,
          timeoutMs: Math.min(c.requestTimeoutMs, left()),
          signal: outer,
        });
        const entry: Entry = {
          key: keyOf(req.protocol, req.internalPort),
          mapping: granted.mapping,
          request: req,
          nonce: granted.nonce,
          expiresAtMono: this.clock.now() + granted.mapping.lifetimeSeconds * 1000,
        };
        if (this.lifetime.signal.aborted) {
          await this.deleteEntry(entry, undefined).catch(() => {});
          break;
        }
        this.entries.set(entry.key, entry);
        this.schedule(entry, renewalDelayMs(granted.mapping.lifetimeSeconds));
        this.logger.info(
          `Mapped ${req.protocol} ${granted.mapping.externalAddress}:${granted.mapping.externalPort} -> :${req.internalPort} by ${methodNames[method]} for ${granted.mapping.lifetimeSeconds} s`,
        );
        this.dispatchEvent(new events.EventPortMapperMapped({ detail: granted.mapping }));
        return granted.mapping;
      } catch (e) {
        failures.push({ method, error: e as Error });
      }
    }
    if (outer.aborted) {
      throw new baseErrors.ErrorCancelled(
        `Mapping ${req.protocol} ${req.internalPort} was cancelled`,
        {
          cause: outer.reason,
        },
      );
    }
    if (failures.length === 1) throw failures[0].error;
    if (failures.length === 0) {
      const why = c.methods
        .map((m) => `${methodNames[m]}: ${this.status.get(m)?.error?.message ?? 'not found'}`)
        .join('; ');
      throw new errors.ErrorUPnPNoGateway(`No port mapping method is available (${why})`, {
        data: {
          attempts: c.methods.map((m) => ({ method: m, ...(this.status.get(m)?.error ?? {}) })),
        },
      });
    }
    throw new errors.ErrorUPnPMappingFailed(
      `Mapping ${req.protocol} ${req.internalPort} failed: ${failures.map((f) => `${methodNames[f.method]}: ${f.error.message}`).join('; ')}`,
      {
        cause: failures[0].error,
        data: { attempts: failures.map((f) => ({ method: f.method, ...errorInfo(f.error) })) },
      },
    );
  }

  /**
   * One method's try at a mapping (new, or renewing `previous`). Once the
   * gateway has granted it, any later failure (the external address query,
   * a non-public address, cancellation) deletes it again.
   */
  protected async attempt(
    method: PortMappingMethod,
    req: Entry['request'],
    {
      action,
      externalPort,
      previous,
      timeoutMs,
      signal,
    }: {
      action: 'map' | 'renew';
      externalPort: number;
      previous?: Entry;
      timeoutMs: number;
      signal?: AbortSignal;
    },
  ): Promise<Granted> {
    const t0 = this.clock.now();
    const left = () => Math.max(1, timeoutMs - (this.clock.now() - t0));
    const { internalPort, protocol, lifetimeSeconds } = req;
    let granted: Granted | undefined;
    const where =
      method === 'upnp'
        ? this.upnp?.controlUrl
        : method === 'pcp'
          ? this.pcp?.gateway
          : this.natpmp?.gateway;
    const finish = (
      lifetime: number,
      externalAddress: string,
      port: number,
      nonce?: Uint8Array,
    ) => ({
      mapping: {
        method,
        externalAddress,
        externalPort: port,
        internalPort,
        protocol,
        lifetimeSeconds: lifetime,
        expiresAt: this.clock.wallTime() + lifetime * 1000,
      },
      nonce,
    });
    try {
      if (method === 'pcp') {
        const client = this.pcp!;
        const nonce = previous?.nonce ?? this.randomBytes(pcpNonceBytes);
        const r = await client.map({
          nonce,
          protocol,
          internalPort,
          externalPort,
          externalAddress: previous?.mapping.externalAddress,
          lifetimeSeconds,
          timeoutMs: left(),
          signal,
        });
        granted = finish(r.lifetimeSeconds, r.externalAddress, r.externalPort, nonce);
        this.checkExternal(r.externalAddress, method);
      } else if (method === 'natpmp') {
        const client = this.natpmp!;
        const r = await client.map({
          protocol,
          internalPort,
          externalPort,
          lifetimeSeconds,
          timeoutMs: left(),
          signal,
        });
        granted = finish(r.lifetimeSeconds, '', r.externalPort);
        const a = await client.externalAddress({ timeoutMs: left(), signal });
        granted = finish(r.lifetimeSeconds, a.externalAddress, r.externalPort);
        this.checkExternal(a.externalAddress, method);
      } else {
        const client = this.upnp!;
        const r = await client.addPortMapping({
          protocol,
          externalPort,
          internalPort,
          lifetimeSeconds,
          description: this.config.description,
          exact: previous != null,
          timeoutMs: left(),
          signal,
        });
        // UPnP does not say what lease it granted: the one asked for is what is renewed against.
        granted = finish(lifetimeSeconds, '', r.externalPort);
        const a = await client.externalAddress({ timeoutMs: left(), signal });
        granted = finish(lifetimeSeconds, a, r.externalPort);
        this.checkExternal(a, method);
      }
      this.audit({
        method,
        action,
        outcome: 'ok',
        durationMs: Math.round(this.clock.now() - t0),
        internalPort,
        protocol,
        externalAddress: granted.mapping.externalAddress,
        externalPort: granted.mapping.externalPort,
        gateway: where,
      });
      this.learnExternal(granted.mapping.externalAddress, method);
      return granted;
    } catch (e) {
      this.audit({
        method,
        action,
        outcome: e instanceof baseErrors.ErrorCancelled ? 'cancelled' : 'failed',
        durationMs: Math.round(this.clock.now() - t0),
        internalPort,
        protocol,
        gateway: where,
        error: errorInfo(e),
      });
      if (granted != null && previous == null) {
        // Granted but not usable (or cancelled): do not leave it on the gateway.
        const orphan: Entry = {
          key: keyOf(protocol, internalPort),
          mapping: granted.mapping,
          request: req,
          nonce: granted.nonce,
          expiresAtMono: 0,
        };
        await this.deleteEntry(orphan, undefined, false).catch(() => {});
      }
      throw e;
    }
  }

  protected schedule(entry: Entry, delayMs: number): void {
    entry.timer?.cancel();
    if (this.lifetime.signal.aborted) return;
    entry.timer = this.clock.setTimer(delayMs, () => {
      if (this.entries.get(entry.key) !== entry || this.lifetime.signal.aborted) return;
      const p = this.renew(entry);
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    });
  }

  /**
   * Renews with the mapping's own method; once the lease has run out, any
   * available method may re-create it. Failures are events and retries.
   */
  protected async renew(entry: Entry): Promise<void> {
    const c = this.config;
    const expired = this.clock.now() >= entry.expiresAtMono;
    const methods = expired
      ? c.methods.filter((m) => this.status.get(m)?.available)
      : [entry.mapping.method];
    let lastError: Error = new errors.ErrorUPnPNoGateway('No port mapping method is available');
    for (const method of methods) {
      try {
        const sameMethod = method === entry.mapping.method;
        const granted = await this.attempt(method, entry.request, {
          action: 'renew',
          externalPort: entry.mapping.externalPort,
          previous: sameMethod ? entry : undefined,
          timeoutMs: c.requestTimeoutMs,
          signal: this.lifetime.signal,
        });
        if (this.entries.get(entry.key) !== entry) {
          // Unmapped or stopped meanwhile: take back what was just granted.
          await this.deleteEntry({ ...entry, ...granted }, undefined, false).catch(() => {});
          return;
        }
        const previous = entry.mapping;
        entry.mapping = granted.mapping;
        entry.nonce = granted.nonce;
        entry.expiresAtMono = this.clock.now() + granted.mapping.lifetimeSeconds * 1000;
        this.schedule(entry, renewalDelayMs(granted.mapping.lifetimeSeconds));
        this.logger.info(
          `Renewed ${entry.request.protocol} ${granted.mapping.externalAddress}:${granted.mapping.externalPort} -> :${entry.request.internalPort} by ${methodNames[method]} for ${granted.mapping.lifetimeSeconds} s`,
        );
        this.dispatchEvent(
          new events.EventPortMapperRenewed({ detail: { mapping: granted.mapping, previous } }),
        );
        return;
      } catch (e) {
        if (this.lifetime.signal.aborted) return;
        lastError = e as Error;
      }
    }
    if (this.entries.get(entry.key) !== entry) return;
    const remaining = entry.expiresAtMono - this.clock.now();
    const retryInMs = renewalRetryDelayMs(remaining, c.retryAfterExpiryMs);
    this.logger.warn(
      `Renewing ${entry.request.protocol} ${entry.request.internalPort} failed (${lastError.message}); retrying in ${retryInMs} ms${remaining <= 0 ? ' (the lease has run out)' : ''}`,
    );
    this.dispatchEvent(
      new events.EventPortMapperRenewFailed({
        detail: { mapping: entry.mapping, error: lastError, retryInMs, expired: remaining <= 0 },
      }),
    );
    this.schedule(entry, retryInMs);
  }

  /** Deletes a mapping on the gateway within `requestTimeoutMs`; emits `EventPortMapperUnmapped`. */
  protected async deleteEntry(
    entry: Entry,
    signal: AbortSignal | undefined,
    announce = true,
  ): Promise<void> {
    const { method, internalPort, protocol, externalPort } = entry.mapping;
    const t0 = this.clock.now();
    const timeoutMs = this.config.requestTimeoutMs;
    const where =
      method === 'upnp'
        ? this.upnp?.controlUrl
        : method === 'pcp'
          ? this.pcp?.gateway
          : this.natpmp?.gateway;
    try {
      if (method === 'pcp') {
        await this.pcp!.map({
          nonce: entry.nonce!,
          protocol,
          internalPort,
          externalPort,
          externalAddress: entry.mapping.externalAddress || undefined,
          lifetimeSeconds: 0,
          timeoutMs,
          signal,
        });
      } else if (method === 'natpmp') {
        await this.natpmp!.map({
          protocol,
          internalPort,
          externalPort: 0,
          lifetimeSeconds: 0,
          timeoutMs,
          signal,
        });
      } else {
        const existed = await this.upnp!.deletePortMapping({
          protocol,
          externalPort,
          timeoutMs,
          signal,
        });
        if (!existed)
          this.logger.info(
            `UPnP gateway had no mapping of ${protocol} ${externalPort} left to delete`,
          );
      }
      this.audit({
        method,
        action: 'unmap',
        outcome: 'ok',
        durationMs: Math.round(this.clock.now() - t0),
        internalPort,
        protocol,
        externalPort,
        gateway: where,
      });
      if (announce)
        this.dispatchEvent(
          new events.EventPortMapperUnmapped({ detail: { mapping: entry.mapping } }),
        );
    } catch (e) {
      this.audit({
        method,
        action: 'unmap',
        outcome: e instanceof baseErrors.ErrorCancelled ? 'cancelled' : 'failed',
        durationMs: Math.round(this.clock.now() - t0),
        internalPort,
        protocol,
        externalPort,
        gateway: where,
        error: errorInfo(e),
      });
      if (announce) {
        this.dispatchEvent(
          new events.EventPortMapperUnmapped({
            detail: { mapping: entry.mapping, error: e as Error },
          }),
        );
      }
      throw e;
    }
  }
}

export default PortMapper;
