import type { AddressFamily, Clock, TimerHandle } from '@node-network/network-interface';
import type {
  BackendAdvert,
  BackendHandlers,
  InterfaceAddress,
  InterfaceLister,
  MdnsBackend,
  MulticastSocket,
  MulticastSocketFactory,
} from './types.js';
import type { QueryScheduleConfig } from './protocol/QuerySchedule.js';
import type { EngineStats } from './protocol/MdnsEngine.js';
import Logger from '@matrixai/logger';
import MdnsEngine from './protocol/MdnsEngine.js';
import QueryBudget from './protocol/QueryBudget.js';
import { parseIPv4, parseIPv6 } from './protocol/ip.js';
import { ErrorMdnsBackend, ErrorMdnsBackendUnavailable, ErrorMdnsConflict } from '../errors.js';

type Lane = {
  name: string;
  engine: MdnsEngine;
  sockets: Array<MulticastSocket>;
  /** Every address of the interface in a joined family (our own datagrams come from one of them). */
  addresses: Array<InterfaceAddress>;
};

function inSubnet(host: string, a: InterfaceAddress): boolean {
  const x = a.family === 'ipv4' ? parseIPv4(host) : parseIPv6(host);
  const y = a.family === 'ipv4' ? parseIPv4(a.address) : parseIPv6(a.address.split('%')[0]);
  if (x == null || y == null || x.length !== y.length) return false;
  for (let bit = 0; bit < a.prefixLength; bit++) {
    const m = 0x80 >> (bit % 8);
    if ((x[bit >> 3] & m) !== (y[bit >> 3] & m)) return false;
  }
  return true;
}

/**
 * Our own RFC 6762 responder and querier, for hosts without avahi: one
 * `MdnsEngine` per interface with a socket per family bound to the mDNS
 * group (so it shares port 5353 with any OS responder without taking its
 * unicast traffic), pumped against the injected `Clock`. On a host with
 * several interfaces a datagram is handled by the interface whose subnet
 * holds its source (a socket bound to the group hears the group on every
 * interface).
 */
class ResponderBackend implements MdnsBackend {
  public readonly kind = 'responder';
  protected lanes: Array<Lane> = [];
  protected timer: TimerHandle | undefined;
  protected handlers: BackendHandlers | undefined;
  protected budget: QueryBudget;
  protected logger: Logger;

  public constructor(
    protected opts: {
      clock: Clock;
      openSocket: MulticastSocketFactory;
      interfaces: InterfaceLister;
      random?: () => number;
      families?: Array<AddressFamily>;
      /** Only these interfaces (default: every non-loopback interface with a usable address). */
      interfaceNames?: Array<string>;
      maxQueriesPerMinute?: number;
      schedule?: Partial<QueryScheduleConfig>;
      logger?: Logger;
    },
  ) {
    this.budget = new QueryBudget(opts.maxQueriesPerMinute ?? 12);
    this.logger = opts.logger ?? new Logger(this.constructor.name);
  }

  public async start(advert: BackendAdvert | undefined, handlers: BackendHandlers): Promise<void> {
    this.handlers = handlers;
    const families = this.opts.families ?? ['ipv4', 'ipv6'];
    const random = this.opts.random ?? Math.random;
    for (const [name, all] of Object.entries(this.opts.interfaces())) {
      if (this.opts.interfaceNames != null && !this.opts.interfaceNames.includes(name)) continue;
      const addresses = all.filter((a) => !a.internal && families.includes(a.family));
      if (addresses.length === 0) continue;
      const sockets: Array<MulticastSocket> = [];
      for (const family of families) {
        const first = addresses.find((a) => a.family === family);
        if (first == null) continue;
        try {
          sockets.push(
            await this.opts.openSocket({
              family,
              interfaceName: name,
              interfaceAddress: first.address,
            }),
          );
        } catch (e) {
          this.logger.warn(`No mDNS ${family} socket on ${name}: ${(e as Error).message}`);
        }
      }
      if (sockets.length === 0) continue;
      // As avahi does: a link-local IPv6 address only when the interface has no routable one (a
      // resolver such as avahi-browse reports one address per interface and family).
      const joined = addresses.filter((a) => sockets.some((s) => s.family === a.family));
      const routable6 = joined.some((a) => a.family === 'ipv6' && !/^fe[89ab]/i.test(a.address));
      const usable = joined.filter((a) => !(routable6 && /^fe[89ab]/i.test(a.address)));
      const engine = new MdnsEngine({
        random,
        budget: this.budget,
        schedule: this.opts.schedule,
        zone: name,
        advert:
          advert != null
            ? { ...advert, host: advert.instance, addresses: usable.map((a) => a.address) }
            : undefined,
      });
      const lane: Lane = { name, engine, sockets, addresses: joined };
      this.lanes.push(lane);
      for (const s of sockets) s.onMessage((data, from) => this.receive(lane, data, from));
    }
    if (this.lanes.length === 0) {
      throw new ErrorMdnsBackendUnavailable(
        'No interface with a usable address could join the mDNS group',
      );
    }
    const now = this.opts.clock.now();
    for (const lane of this.lanes) lane.engine.start(now);
    this.pump();
    this.logger.info(
      `Own mDNS responder on ${this.lanes.map((l) => `${l.name} (${l.sockets.map((s) => s.family).join('+')})`).join(', ')}`,
    );
  }

  public async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    const now = this.opts.clock.now();
    const sends: Array<Promise<void>> = [];
    for (const lane of this.lanes) {
      lane.engine.stop(now);
      sends.push(...this.transmit(lane));
    }
    await Promise.allSettled(sends);
    await Promise.allSettled(this.lanes.flatMap((l) => l.sockets.map((s) => s.close())));
    this.lanes = [];
    this.handlers = undefined;
  }

  public stats(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const lane of this.lanes) {
      for (const [k, v] of Object.entries(lane.engine.stats as EngineStats)) {
        total[k] = (total[k] ?? 0) + v;
      }
    }
    return total;
  }

  protected receive(lane: Lane, data: Uint8Array, from: { host: string; port: number }): void {
    if (this.handlers == null) return;
    const isLinkLocal = /^fe[89ab]/i.test(from.host);
    if (
      this.lanes.length > 1 &&
      !isLinkLocal &&
      !lane.addresses.some((a) => inSubnet(from.host, a))
    ) {
      return;
    }
    const local = this.lanes.some((l) => l.addresses.some((a) => a.address === from.host));
    lane.engine.handleMessage(this.opts.clock.now(), data, { ...from, local });
    this.pump();
  }

  /** Sends what the engines queued, reports their events, and sets the timer to their next deadline. */
  protected pump(): void {
    if (this.handlers == null) return;
    let next: number | undefined;
    for (const lane of this.lanes) {
      void Promise.allSettled(this.transmit(lane));
      for (let e = lane.engine.pollEvent(); e != null; e = lane.engine.pollEvent()) {
        if (e.type === 'found') this.handlers.onFound(e.sighting);
        else if (e.type === 'lost') this.handlers.onLost(e.instance, e.reason);
        else if (e.type === 'conflict') {
          this.handlers.onError(
            new ErrorMdnsConflict(`Another responder on ${lane.name} claims ${e.name}`),
          );
        } else this.logger.debug(`Malformed mDNS from ${e.from}: ${e.error.message}`);
      }
      const t = lane.engine.pollTimeout();
      if (t != null && (next == null || t < next)) next = t;
    }
    this.timer?.cancel();
    this.timer = undefined;
    if (next != null) {
      this.timer = this.opts.clock.setTimer(next - this.opts.clock.now(), () => {
        this.timer = undefined;
        const now = this.opts.clock.now();
        for (const lane of this.lanes) lane.engine.handleTimeout(now);
        this.pump();
      });
    }
  }

  protected transmit(lane: Lane): Array<Promise<void>> {
    const out: Array<Promise<void>> = [];
    for (let t = lane.engine.pollTransmit(); t != null; t = lane.engine.pollTransmit()) {
      const family = t.to == null ? undefined : t.to.host.includes(':') ? 'ipv6' : 'ipv4';
      for (const s of lane.sockets) {
        if (family != null && s.family !== family) continue;
        out.push(
          s.send(t.data, t.to).catch((e) => {
            this.handlers?.onError(
              new ErrorMdnsBackend(`mDNS send on ${lane.name} (${s.family}) failed`, { cause: e }),
            );
          }),
        );
      }
    }
    return out;
  }
}

export default ResponderBackend;
