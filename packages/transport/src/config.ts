import type { TransportConfig } from './types.js';

/**
 * Defaults follow Polykey 1.x (15 s connect, 10 s keepalive, 30 s idle), so
 * connections to Polykey agents behave the same from both sides.
 */
const transportConfigDefault: TransportConfig = {
  connectTimeoutTime: 15_000,
  maxIdleTimeout: 30_000,
  keepAliveIntervalTime: 10_000,
  socketBufferSize: 4 * 1024 * 1024,
  udpGso: true,
  udpRecvBatch: true,
  polykeyNetwork: 'mainnet',
  certificateDuration: 365 * 24 * 60 * 60,
  quic: {},
};

/** ALPN of the node-network agent protocol; Polykey 1.x agents use the same. */
const alpn = 'quic';

export { transportConfigDefault, alpn };
