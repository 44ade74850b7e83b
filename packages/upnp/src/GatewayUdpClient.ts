import type { Clock } from '@node-network/network-interface';
import type { UdpSocketFactory } from './types.js';
import { natPmpPort } from './protocol/natpmp.js';
import udpExchange from './udpExchange.js';

type GatewayUdpClientOptions = {
  gateway: string;
  /** The gateway's port (NAT-PMP and PCP share 5351). */
  port?: number;
  bindAddress?: string;
  clock: Clock;
  socketFactory: UdpSocketFactory;
  initialRetransmitMs: number;
};

/**
 * What the NAT-PMP and PCP clients share: one gateway's UDP service, each
 * request one `udpExchange` (a fresh socket, resends doubling, a deadline).
 */
abstract class GatewayUdpClient {
  public readonly gateway: string;
  public readonly port: number;
  protected abstract readonly method: 'natpmp' | 'pcp';
  protected bindAddress?: string;
  protected clock: Clock;
  protected socketFactory: UdpSocketFactory;
  protected initialRetransmitMs: number;

  public constructor({
    gateway,
    port = natPmpPort,
    bindAddress,
    clock,
    socketFactory,
    initialRetransmitMs,
  }: GatewayUdpClientOptions) {
    this.gateway = gateway;
    this.port = port;
    this.bindAddress = bindAddress;
    this.clock = clock;
    this.socketFactory = socketFactory;
    this.initialRetransmitMs = initialRetransmitMs;
  }

  protected exchange<T>(
    what: string,
    payload: Uint8Array | ((clientAddress: string) => Uint8Array),
    timeoutMs: number,
    signal: AbortSignal | undefined,
    accept: (data: Uint8Array) => T | undefined,
  ): Promise<T> {
    return udpExchange({
      method: this.method,
      what,
      host: this.gateway,
      port: this.port,
      bindAddress: this.bindAddress,
      payload,
      accept,
      clock: this.clock,
      socketFactory: this.socketFactory,
      initialRetransmitMs: this.initialRetransmitMs,
      timeoutMs,
      signal,
    });
  }
}

export default GatewayUdpClient;
export type { GatewayUdpClientOptions };
