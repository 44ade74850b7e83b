import type { BindDatagramPort, Clock, DatagramPort } from '@node-network/network-interface';
import type { ReplyFrom } from '@node-network/signalling';
import { NATProbeServer } from '@node-network/signalling';
import { addresses as addressUtils } from '@node-network/transport';

type NATProbeServerConfig = {
  /** Where requests arrive (one family). */
  host: string;
  port: number;
  /** Another port on `host` to answer from (tests port-dependent filtering). */
  otherPort?: number;
  /** Another IP of this machine, same family, to answer from (tests address-dependent filtering). */
  otherHost?: string;
};

type NATProbeInfo = { address: string; capabilities: Array<ReplyFrom> };

/** The NAT probe servers a node runs (public nodes help others measure their NATs). */
class NATProbeService {
  protected clock: Clock;
  protected bind: BindDatagramPort;
  protected configs: Array<NATProbeServerConfig>;
  protected servers: Array<{ server: NATProbeServer; ports: Array<DatagramPort> }> = [];

  public constructor({
    clock,
    bind,
    serve = [],
  }: {
    clock: Clock;
    bind: BindDatagramPort;
    serve?: Array<NATProbeServerConfig>;
  }) {
    this.clock = clock;
    this.bind = bind;
    this.configs = serve;
  }

  public async start(): Promise<void> {
    try {
      for (const c of this.configs) {
        const family = addressUtils.toAddress(c.host, c.port).family;
        const ports: Array<DatagramPort> = [];
        const bindOne = async (host: string, port: number) => {
          const p = await this.bind({ host, port, family });
          ports.push(p);
          return p;
        };
        const main = await bindOne(c.host, c.port);
        const otherPort = c.otherPort != null ? await bindOne(c.host, c.otherPort) : undefined;
        // Any port: the other IP alone is what the test needs.
        const otherHost = c.otherHost != null ? await bindOne(c.otherHost, 0) : undefined;
        const server = new NATProbeServer({ clock: this.clock, main, otherPort, otherHost });
        server.start();
        this.servers.push({ server, ports });
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  public async stop(): Promise<void> {
    for (const { server, ports } of this.servers.splice(0)) {
      server.stop();
      await Promise.all(ports.map((p) => p.close()));
    }
  }

  public info(): Array<NATProbeInfo> {
    return this.servers.map(({ server }) => ({
      address: addressUtils.formatAddress(server.address),
      capabilities: server.capabilities(),
    }));
  }
}

export default NATProbeService;
export type { BindDatagramPort, NATProbeServerConfig, NATProbeInfo };
