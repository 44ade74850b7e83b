import type { Address, Clock } from '@node-network/network-interface';
import type { AuditRecord } from '@node-network/transport';
import type { PortMapperConfig, PortMapping } from '@node-network/upnp';
import Logger from '@matrixai/logger';
import { PortMapper, events as upnpEvents } from '@node-network/upnp';
import { addresses as addressUtils } from '@node-network/transport';

/**
 * The facade's port mapping: asks the gateway (PCP, NAT-PMP, UPnP IGD) to
 * map our IPv4 QUIC port, so nodes on the internet can dial us directly;
 * the mapped address joins our advertised addresses (signal candidates of
 * kind `upnp`, `addresses`), follows renewals and external address
 * changes, leaves when a lease expires unrenewed, and is deleted on the
 * gateway at stop. A gateway that offers nothing costs about a second at
 * start and an audit record saying why, never a failed start.
 */
class NodePortMapping {
  public mapper?: PortMapper;
  protected config: Partial<PortMapperConfig>;
  protected clock: Clock;
  protected audit: (r: Omit<AuditRecord, 'time'>) => void;
  protected logger: Logger;
  protected current = new Map<number, PortMapping>();

  public constructor({
    clock,
    audit,
    config = {},
    logger,
  }: {
    clock: Clock;
    audit: (r: Omit<AuditRecord, 'time'>) => void;
    config?: Partial<PortMapperConfig>;
    logger?: Logger;
  }) {
    this.clock = clock;
    this.audit = audit;
    this.config = config;
    this.logger = logger ?? new Logger(this.constructor.name);
  }

  /** Maps the port of each IPv4 socket in `localAddresses`; resolves once each got a mapping or failed. */
  public async start(localAddresses: ReadonlyArray<Address>): Promise<void> {
    const mapper = new PortMapper({
      config: this.config,
      clock: this.clock,
      logger: this.logger.getChild('PortMapper'),
    });
    mapper.addEventListener(upnpEvents.EventPortMapperAttempt.name, (evt) => {
      const a = (evt as upnpEvents.EventPortMapperAttempt).detail;
      if (a.outcome === 'ok') return;
      this.audit({
        kind: 'port-mapping',
        outcome: a.outcome,
        durationMs: a.durationMs,
        error: a.error != null ? { name: a.error.name, message: a.error.message } : undefined,
        detail: `${a.method} ${a.action} ${a.outcome}${a.gateway != null ? ` (gateway ${a.gateway})` : ''}`,
      });
    });
    mapper.addEventListener(upnpEvents.EventPortMapperRenewed.name, (evt) => {
      const { mapping, previous } = (evt as upnpEvents.EventPortMapperRenewed).detail;
      this.current.set(mapping.internalPort, mapping);
      if (
        mapping.externalAddress !== previous.externalAddress ||
        mapping.externalPort !== previous.externalPort
      ) {
        this.record(mapping, `renewed; now ${this.text(mapping)} (was ${this.text(previous)})`);
      }
    });
    mapper.addEventListener(upnpEvents.EventPortMapperRenewFailed.name, (evt) => {
      const { mapping, error, expired, retryInMs } = (evt as upnpEvents.EventPortMapperRenewFailed)
        .detail;
      if (expired) this.current.delete(mapping.internalPort);
      this.audit({
        kind: 'port-mapping',
        outcome: 'failed',
        address: this.text(mapping),
        error: { name: error.name, message: error.message },
        detail: `renewing ${this.text(mapping)} failed; ${expired ? 'expired, no longer advertised' : 'still leased'}; retry in ${retryInMs} ms`,
      });
    });
    mapper.addEventListener(upnpEvents.EventPortMapperExternalAddressChanged.name, (evt) => {
      const d = (evt as upnpEvents.EventPortMapperExternalAddressChanged).detail;
      for (const [port, m] of this.current) {
        this.current.set(port, { ...m, externalAddress: d.current });
      }
      if (d.previous != null) {
        this.audit({
          kind: 'port-mapping',
          outcome: 'ok',
          detail: `the gateway's external address changed from ${d.previous} to ${d.current} (${d.method})`,
        });
      }
    });
    await mapper.start();
    this.mapper = mapper;
    const ports = [
      ...new Set(localAddresses.filter((a) => a.family === 'ipv4').map((a) => a.port)),
    ];
    await Promise.all(
      ports.map(async (port) => {
        const t0 = this.clock.now();
        try {
          const m = await mapper.map({ internalPort: port, protocol: 'udp' });
          this.current.set(port, m);
          this.record(
            m,
            `mapped UDP ${port} by ${m.method} for ${m.lifetimeSeconds} s`,
            this.clock.now() - t0,
          );
        } catch (e) {
          this.logger.warn(`No port mapping for UDP ${port}: ${(e as Error).message}`);
          this.audit({
            kind: 'port-mapping',
            outcome: 'failed',
            durationMs: this.clock.now() - t0,
            error: { name: (e as Error).name, message: (e as Error).message },
            detail: `no port mapping for UDP ${port}`,
          });
        }
      }),
    );
  }

  /** Deletes our mappings on the gateway. */
  public async stop(): Promise<void> {
    const mapper = this.mapper;
    this.mapper = undefined;
    this.current.clear();
    await mapper?.stop();
  }

  /** Where the gateway forwards to us now. */
  public addresses(): Array<Address> {
    return [...this.current.values()].flatMap(
      (m) => addressUtils.tryParseAddress(this.text(m)) ?? [],
    );
  }

  protected text(m: PortMapping): string {
    return `${m.externalAddress}:${m.externalPort}`;
  }

  protected record(m: PortMapping, detail: string, durationMs?: number): void {
    this.audit({ kind: 'port-mapping', outcome: 'ok', address: this.text(m), durationMs, detail });
  }
}

export default NodePortMapping;
