/** How a mapping was made: PCP (RFC 6887), NAT-PMP (RFC 6886) or UPnP IGD (WANIPConnection / WANPPPConnection). */
type PortMappingMethod = 'pcp' | 'natpmp' | 'upnp';

type PortMappingProtocol = 'udp' | 'tcp';

/** A mapping the gateway granted: `externalAddress:externalPort` reaches `internalPort` here. */
type PortMapping = {
  method: PortMappingMethod;
  externalAddress: string;
  externalPort: number;
  internalPort: number;
  protocol: PortMappingProtocol;
  /** The lifetime the gateway granted (NAT-PMP, PCP) or was asked for (UPnP, which does not say). */
  lifetimeSeconds: number;
  /** When the lease ends unless renewed: wall-clock ms since the epoch (`Clock.wallTime()`). */
  expiresAt: number;
};

type PortMappingRequest = {
  internalPort: number;
  protocol: PortMappingProtocol;
  /** Default: the PortMapper's `lifetimeSeconds`. */
  lifetimeSeconds?: number;
  /** The external port to ask for; default the internal port. The gateway may grant another. */
  externalPort?: number;
};

type PortMapperConfig = {
  /** Methods in the order they are tried. */
  methods: Array<PortMappingMethod>;
  /** The gateway for PCP and NAT-PMP; default the default route's gateway (/proc/net/route). */
  gateway?: string;
  /**
   * Our LAN address: sockets bind to it and UPnP maps to it. Default: the
   * address the kernel picks toward the gateway.
   */
  localAddress?: string;
  /** Lease asked for when `map` is not told. */
  lifetimeSeconds: number;
  /** The description UPnP gateways show for our mappings. */
  description: string;
  /** Budget of each method's discovery at `start` (they run in parallel). */
  discoveryTimeoutMs: number;
  /**
   * First retransmission of a UDP request (then doubling, RFC 6886), and how
   * long SSDP waits after a first answer for one from the default gateway.
   */
  answerTimeoutMs: number;
  /** Cap on one `map` call, all methods included. */
  mappingTimeoutMs: number;
  /** Cap on one method's attempt within `map`, and on each renewal, unmap and HTTP request. */
  requestTimeoutMs: number;
  /** Largest HTTP body (description, SOAP) read from a gateway. */
  maxResponseBytes: number;
  /** Accept mappings whose external address is not public (double NAT, labs). */
  allowNonPublicExternalAddress: boolean;
  /** After a lease ran out without renewal, how often renewal is retried. */
  retryAfterExpiryMs: number;
  /** `map` with no method available runs discovery again when the last one is this old. */
  rediscoverAfterMs: number;
  /** The gateways' ports: tests point them at fakes on loopback. */
  natPmpPort: number;
  pcpPort: number;
  ssdp: { host: string; port: number };
};

/** A UDP socket as the clients need it; `nodeUdpSocket` is the real one. */
interface UdpSocket {
  /** The address the socket is bound to (for a connected socket: the one the kernel picked). */
  readonly localAddress: string;
  /** Sends to `host:port`, or to the connected peer when omitted. */
  send(data: Uint8Array, port?: number, host?: string): Promise<void>;
  close(): void;
}

type UdpSocketOptions = {
  /** Bind address; default any. */
  bindAddress?: string;
  /** Connect to this peer (only its datagrams arrive; ICMP errors surface as `onError`). */
  connect?: { host: string; port: number };
  /** Outgoing multicast interface (by its address) and TTL, for SSDP. */
  multicastInterface?: string;
  multicastTtl?: number;
  onMessage: (data: Uint8Array, from: { host: string; port: number }) => void;
  onError?: (e: Error) => void;
};

type UdpSocketFactory = (options: UdpSocketOptions) => Promise<UdpSocket>;

type HttpRequestOptions = {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** The body is read up to this many bytes; past it the request fails with `ErrorUPnPResponseTooLarge`. */
  maxBytes: number;
  /** Bind the TCP connection to this local address. */
  localAddress?: string;
  /** Aborting rejects with the signal's reason. */
  signal: AbortSignal;
};

type HttpResponse = {
  status: number;
  body: string;
  /** The local address of the TCP connection (our address as the gateway sees it). */
  localAddress?: string;
};

/** An HTTP/1.1 request to a gateway; `nodeHttpRequest` is the real one. */
type HttpRequest = (options: HttpRequestOptions) => Promise<HttpResponse>;

/** Finds the default gateway; the real one reads /proc/net/route. */
type DefaultGatewayLookup = () => Promise<string | undefined>;

/** One try of one method, for the audit trail ("why did it use NAT-PMP?"). */
type PortMappingAttempt = {
  /** Wall-clock ms since the epoch. */
  time: number;
  method: PortMappingMethod;
  action: 'discover' | 'map' | 'renew' | 'unmap';
  outcome: 'ok' | 'failed' | 'cancelled';
  durationMs: number;
  internalPort?: number;
  protocol?: PortMappingProtocol;
  externalAddress?: string;
  externalPort?: number;
  /** The gateway asked: an IPv4 address (PCP, NAT-PMP) or the IGD's control URL (UPnP). */
  gateway?: string;
  error?: { name: string; message: string; code?: number };
};

/** What discovery found for one method. */
type GatewayStatus = {
  method: PortMappingMethod;
  available: boolean;
  gateway?: string;
  externalAddress?: string;
  error?: { name: string; message: string; code?: number };
};

export type {
  PortMappingMethod,
  PortMappingProtocol,
  PortMapping,
  PortMappingRequest,
  PortMapperConfig,
  UdpSocket,
  UdpSocketOptions,
  UdpSocketFactory,
  HttpRequestOptions,
  HttpResponse,
  HttpRequest,
  DefaultGatewayLookup,
  PortMappingAttempt,
  GatewayStatus,
};
