import type {
  Address,
  AddressFamily,
  DatagramPort,
  Unsubscribe,
} from '@node-network/network-interface';
import {
  assertDatagramSendable,
  DatagramHandlers,
  errors as baseErrors,
} from '@node-network/network-interface';
import type { GsoStats } from './gso.js';
import dgram from 'node:dgram';
import Logger from '@matrixai/logger';
import { ErrorTransportBind } from './errors.js';
import { toAddress } from './addresses.js';
import { installRecvBatch } from './recvBatch.js';
import { makeGsoSend } from './gso.js';
import PostBatcher from './postBatcher.js';

const logger = new Logger('UDPDatagramPort');

/** Largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP). */
const maxUdpPayload = 65507;

/**
 * `DatagramPort` over a real `node:dgram` socket. One socket, one family
 * (IPv6 sockets are IPv6-only, so the two families never mix).
 */
class UDPDatagramPort implements DatagramPort {
  public static async bind({
    host,
    port = 0,
    recvBufferSize,
    sendBufferSize,
    recvBatch = true,
    gso = true,
  }: {
    host: string;
    port?: number;
    recvBufferSize?: number;
    sendBufferSize?: number;
    /**
     * Read waiting datagrams in batches (`recvmmsg`, `src/recvBatch.ts`) where the native module
     * allows; each handler still gets a buffer of its own. Default true.
     */
    recvBatch?: boolean;
    /**
     * Send what `post` gathers in one task as UDP GSO batches (`src/postBatcher.ts`) where the
     * kernel and the native module allow. Default true.
     */
    gso?: boolean;
  }): Promise<UDPDatagramPort> {
    const requested = toAddress(host, port);
    const socket = dgram.createSocket({
      type: requested.family === 'ipv6' ? 'udp6' : 'udp4',
      ipv6Only: requested.family === 'ipv6',
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        socket.close();
        reject(
          new ErrorTransportBind(`Cannot bind UDP ${requested.host}:${requested.port}`, {
            cause: e,
          }),
        );
      };
      socket.once('error', onError);
      socket.bind(requested.port, requested.host, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    if (recvBufferSize != null) socket.setRecvBufferSize(recvBufferSize);
    if (sendBufferSize != null) socket.setSendBufferSize(sendBufferSize);
    const bound = socket.address();
    const port_ = new UDPDatagramPort(socket, toAddress(bound.address, bound.port));
    // Handlers may keep what they get (a send queued in the kernel's stead does): copies, not views.
    if (recvBatch)
      installRecvBatch(socket, (view, rinfo) => port_.deliver(Buffer.from(view), rinfo));
    if (gso) {
      const send = makeGsoSend(socket, requested.family, logger, port_.gsoStats);
      if (typeof send !== 'string') {
        port_.batcher = new PostBatcher(send, (data, p, h, onError) =>
          port_.sendOne(data, p, h, onError),
        );
      }
    }
    return port_;
  }

  public readonly localAddress: Address;
  public readonly maxDatagramSize = maxUdpPayload;
  protected socket: dgram.Socket;
  protected handlers = new DatagramHandlers();
  protected _closed = false;
  protected senders = new Map<string, Address>();
  protected batcher?: PostBatcher;
  /** Batches `post` sent with UDP GSO. */
  public readonly gsoStats: GsoStats = { batches: 0, datagrams: 0, refused: 0 };

  protected constructor(socket: dgram.Socket, localAddress: Address) {
    this.socket = socket;
    this.localAddress = localAddress;
    socket.on('message', (msg, rinfo) => this.deliver(msg, rinfo));
    // Errors on a bound UDP socket (ICMP unreachable and the like) are per
    // datagram; they must not crash the process.
    socket.on('error', () => {});
  }

  protected deliver(msg: Buffer, rinfo: { address: string; port: number }): void {
    // A forwarding port hears the same few senders over and over: parse each once.
    const key = `${rinfo.address} ${rinfo.port}`;
    let from = this.senders.get(key);
    if (from == null) {
      try {
        from = toAddress(rinfo.address, rinfo.port);
      } catch {
        return;
      }
      if (this.senders.size >= 64) this.senders.clear();
      this.senders.set(key, from);
    }
    this.handlers.dispatch(msg, from);
  }

  public get family(): AddressFamily {
    return this.localAddress.family;
  }

  public get closed(): boolean {
    return this._closed;
  }

  public async send(data: Uint8Array, to: Address): Promise<void> {
    assertDatagramSendable(this, data, to);
    // Not ahead of what `post` gathered.
    this.batcher?.flush();
    await new Promise<void>((resolve, reject) => {
      this.socket.send(data, to.port, to.host, (e) => {
        if (e == null) return resolve();
        reject(new baseErrors.ErrorDatagramPort(`UDP send failed: ${e.message}`, { cause: e }));
      });
    });
  }

  public post(data: Uint8Array, to: Address, onError?: (e: Error) => void): void {
    try {
      assertDatagramSendable(this, data, to);
    } catch (e) {
      onError?.(e as Error);
      return;
    }
    if (this.batcher != null) this.batcher.post(data, to.port, to.host, onError);
    else this.sendOne(data, to.port, to.host, onError);
  }

  protected sendOne(data: Uint8Array, port: number, host: string, onError?: (e: Error) => void) {
    if (this._closed) return;
    this.socket.send(data, port, host, (e) => {
      if (e != null) onError?.(e);
    });
  }

  public onDatagram(handler: (data: Uint8Array, from: Address) => void): Unsubscribe {
    return this.handlers.add(handler);
  }

  public async close(): Promise<void> {
    if (this._closed) return;
    this.batcher?.flush();
    this._closed = true;
    this.handlers.clear();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

export default UDPDatagramPort;
