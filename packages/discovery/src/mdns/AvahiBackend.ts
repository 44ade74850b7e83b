import type { Clock } from '@node-network/network-interface';
import type {
  BackendAdvert,
  BackendHandlers,
  ChildHandle,
  MdnsBackend,
  ProcessSpawner,
} from './types.js';
import type { ServiceSighting } from './protocol/serviceRecords.js';
import Logger from '@matrixai/logger';
import { parseAvahiBrowseLine } from './protocol/avahiBrowse.js';
import { decodeTxt, serviceType, withZone } from './protocol/serviceRecords.js';
import { ErrorMdnsBackend, ErrorMdnsBackendUnavailable } from '../errors.js';

type AvahiCommands = { publish: string; browse: string };

const avahiCommandsDefault: AvahiCommands = { publish: 'avahi-publish', browse: 'avahi-browse' };

/** Waits for `child` to exit, killing it after `graceMs`. */
function waitExit(child: ChildHandle, clock: Clock, graceMs: number): Promise<void> {
  if (child.exited) return Promise.resolve();
  return new Promise((resolve) => {
    const t = clock.setTimer(graceMs, () => child.kill('SIGKILL'));
    child.onExit(() => {
      t.cancel();
      resolve();
    });
  });
}

/**
 * Publishes and browses through the OS's avahi-daemon (the host's one
 * mDNS responder) with its own tools as child processes: `avahi-publish -s`
 * registers our service (avahi probes, announces, answers, and sends the
 * goodbyes when the process ends) and `avahi-browse -p -r -k` reports
 * services of our type, resolved, as avahi's cache learns and forgets
 * them. No socket of ours touches port 5353. `available()` asks the daemon
 * over D-Bus (`avahi-browse --cache`, ~30 ms) whether it is there.
 */
class AvahiBackend implements MdnsBackend {
  public readonly kind = 'avahi';
  protected publisher: ChildHandle | undefined;
  protected browser: ChildHandle | undefined;
  protected stopping = false;
  /** instance -> "iface/protocol" -> one resolved line. */
  protected seen = new Map<string, Map<string, { sighting: ServiceSighting }>>();
  protected counters = { resolvedLines: 0, removedLines: 0, unparsedLines: 0 };
  protected logger: Logger;
  protected commands: AvahiCommands;

  public constructor(
    protected opts: {
      spawn: ProcessSpawner;
      clock: Clock;
      commands?: Partial<AvahiCommands>;
      /** How long avahi-publish may take to establish the service (it probes ~1 s). */
      publishTimeoutTime?: number;
      logger?: Logger;
    },
  ) {
    this.commands = { ...avahiCommandsDefault, ...opts.commands };
    this.logger = opts.logger ?? new Logger(this.constructor.name);
  }

  /** Whether avahi-daemon answers on D-Bus and its tools are installed. */
  public static available(
    spawn: ProcessSpawner,
    clock: Clock,
    commands: Partial<AvahiCommands> = {},
    timeoutTime = 2000,
  ): Promise<{ ok: boolean; reason?: string }> {
    const browse = commands.browse ?? avahiCommandsDefault.browse;
    return new Promise((resolve) => {
      const child = spawn([browse, '--cache', '--parsable', '--no-db-lookup', `${serviceType}`]);
      let err = '';
      child.onLine('stderr', (l) => (err += `${l}\n`));
      child.onLine('stdout', () => {});
      const t = clock.setTimer(timeoutTime, () => {
        child.kill('SIGKILL');
        resolve({ ok: false, reason: `${browse} did not answer within ${timeoutTime} ms` });
      });
      child.onExit((code) => {
        t.cancel();
        if (code === 0) resolve({ ok: true });
        else if (code === 127) resolve({ ok: false, reason: `${browse} is not installed` });
        else resolve({ ok: false, reason: err.trim() || `${browse} exited with ${code}` });
      });
    });
  }

  public async start(advert: BackendAdvert | undefined, handlers: BackendHandlers): Promise<void> {
    this.stopping = false;
    const browser = this.opts.spawn([
      this.commands.browse,
      '--parsable',
      '--resolve',
      '--no-db-lookup',
      serviceType,
    ]);
    this.browser = browser;
    let browseErr = '';
    browser.onLine('stderr', (l) => (browseErr = `${browseErr}${l}\n`.slice(-2000)));
    browser.onLine('stdout', (l) => this.handleLine(l, advert?.instance, handlers));
    browser.onExit((code, signal) => {
      if (this.stopping) return;
      handlers.onError(
        new ErrorMdnsBackend(`avahi-browse exited (${code ?? signal}): ${browseErr.trim()}`),
      );
    });
    if (advert == null) return;
    const txt = Object.entries(advert.txt).map(([k, v]) => `${k}=${v}`);
    const publisher = this.opts.spawn([
      this.commands.publish,
      '--service',
      advert.instance,
      serviceType,
      String(advert.port),
      ...txt,
    ]);
    this.publisher = publisher;
    let pubErr = '';
    await new Promise<void>((resolve, reject) => {
      const t = this.opts.clock.setTimer(this.opts.publishTimeoutTime ?? 5000, () =>
        reject(
          new ErrorMdnsBackendUnavailable(`avahi-publish did not establish the service: ${pubErr}`),
        ),
      );
      publisher.onLine('stdout', () => {});
      publisher.onLine('stderr', (l) => {
        pubErr = `${pubErr}${l}\n`.slice(-2000);
        if (l.startsWith('Established under name')) {
          t.cancel();
          resolve();
        } else if (l.includes('collision')) {
          this.logger.warn(`avahi-publish: ${l}`);
        }
      });
      publisher.onExit((code, signal) => {
        t.cancel();
        reject(
          new ErrorMdnsBackendUnavailable(
            `avahi-publish exited (${code ?? signal}): ${pubErr.trim()}`,
          ),
        );
      });
    }).catch(async (e) => {
      await this.stop();
      throw e;
    });
    publisher.onExit((code, signal) => {
      if (this.stopping) return;
      handlers.onError(
        new ErrorMdnsBackend(`avahi-publish exited (${code ?? signal}): ${pubErr.trim()}`),
      );
    });
  }

  /** Ends avahi-publish (avahi then sends the goodbyes) and avahi-browse. */
  public async stop(): Promise<void> {
    this.stopping = true;
    const children = [this.publisher, this.browser].filter((c): c is ChildHandle => c != null);
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => waitExit(c, this.opts.clock, 2000)));
    this.publisher = undefined;
    this.browser = undefined;
    this.seen.clear();
  }

  public stats(): Record<string, number> {
    return { ...this.counters, instances: this.seen.size };
  }

  protected handleLine(line: string, self: string | undefined, handlers: BackendHandlers): void {
    const l = parseAvahiBrowseLine(line);
    if (l == null) {
      this.counters.unparsedLines++;
      return;
    }
    if (l.instance === self || l.kind === 'new') return;
    const key = `${l.iface}/${l.protocol}`;
    if (l.kind === 'removed') {
      this.counters.removedLines++;
      const m = this.seen.get(l.instance);
      if (m == null || !m.delete(key)) return;
      if (m.size === 0) {
        this.seen.delete(l.instance);
        handlers.onLost(l.instance, 'removed');
      } else handlers.onFound(this.merge(l.instance, m));
      return;
    }
    if (l.kind !== 'resolved') return;
    this.counters.resolvedLines++;
    const m = this.seen.get(l.instance) ?? new Map<string, { sighting: ServiceSighting }>();
    this.seen.set(l.instance, m);
    m.set(key, {
      sighting: {
        instance: l.instance,
        port: l.port,
        host: l.host.replace(/\.local$/i, ''),
        txt: decodeTxt(l.txt.map((s) => Buffer.from(s, 'utf8'))),
        addresses: [withZone(l.address, l.iface)],
      },
    });
    handlers.onFound(this.merge(l.instance, m));
  }

  /** One sighting from every interface/protocol avahi resolved the instance on: the latest data, all addresses. */
  protected merge(
    instance: string,
    m: Map<string, { sighting: ServiceSighting }>,
  ): ServiceSighting {
    const all = [...m.values()].map((x) => x.sighting);
    const last = all[all.length - 1];
    return {
      ...last,
      instance,
      addresses: [...new Set(all.flatMap((s) => s.addresses))].sort(),
    };
  }
}

export default AvahiBackend;
export { avahiCommandsDefault };
export type { AvahiCommands };
