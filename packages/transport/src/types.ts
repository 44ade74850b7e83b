import type { QUICConfig } from '@matrixai/quic';

/** Timeouts and QUIC settings of a transport; every field has a default. */
type TransportConfig = {
  /** Default limit of one dial (handshake included), ms. */
  connectTimeoutTime: number;
  /** A connection with no traffic for this long is closed, ms. */
  maxIdleTimeout: number;
  /** Keepalive interval on every connection, ms (below `maxIdleTimeout`). */
  keepAliveIntervalTime: number;
  /** UDP socket send and receive buffer size, bytes (the OS caps it; 0 keeps its default). */
  socketBufferSize: number;
  /**
   * The network Polykey 1.x agents (certificates without a network
   * extension) are admitted to: `mainnet` by default, `null` for none. A
   * private network never admits them.
   */
  polykeyNetwork: 'mainnet' | 'testnet' | null;
  /**
   * Batched UDP sends (GSO: one system call per up to 63 KiB of packets) where
   * the kernel and the built native module allow; logged at start either way.
   */
  udpGso: boolean;
  /**
   * Batched UDP receives (one `recvmmsg` for up to 64 waiting datagrams) where
   * the built native module allows; logged at start either way.
   */
  udpRecvBatch: boolean;
  /** Validity of the certificate made at start, seconds. */
  certificateDuration: number;
  /** Extra quiche settings passed through to @matrixai/quic. */
  quic: Partial<
    Pick<
      QUICConfig,
      | 'initialMaxData'
      | 'initialMaxStreamDataBidiLocal'
      | 'initialMaxStreamDataBidiRemote'
      | 'initialMaxStreamsBidi'
      | 'maxConnectionWindow'
      | 'maxStreamWindow'
      | 'readableChunkSize'
      | 'maxSendUdpPayloadSize'
      | 'maxRecvUdpPayloadSize'
    >
  >;
};

/** One socket to bind: an IP literal and a port (0 picks one). */
type ListenAddress = { host: string; port?: number };

export type { TransportConfig, ListenAddress };
