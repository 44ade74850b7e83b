import type { AddressFamily, Unsubscribe } from '@node-network/network-interface';
import type { ServiceSighting } from './protocol/serviceRecords.js';

/**
 * A UDP socket on the mDNS port and group of one interface and family
 * (224.0.0.251 / ff02::fb, port 5353). Protocol code sees only this; the
 * real one is `openDgramMulticastSocket` (node:dgram), tests use memory.
 */
interface MulticastSocket {
  readonly family: AddressFamily;
  readonly interfaceName: string;
  /** Sends to the group (`to` undefined) or unicast to `to`. */
  send(data: Uint8Array, to?: { host: string; port: number }): Promise<void>;
  onMessage(handler: (data: Uint8Array, from: { host: string; port: number }) => void): Unsubscribe;
  close(): Promise<void>;
}

type MulticastSocketFactory = (opts: {
  family: AddressFamily;
  interfaceName: string;
  /** An address of the interface in that family (IPv4: picks the interface for the group). */
  interfaceAddress: string;
}) => Promise<MulticastSocket>;

type InterfaceAddress = {
  address: string;
  family: AddressFamily;
  /** CIDR prefix length. */
  prefixLength: number;
  internal: boolean;
};

/** The host's interfaces and their addresses (os.networkInterfaces, or a fake). */
type InterfaceLister = () => Record<string, Array<InterfaceAddress>>;

/** A running child process, as the avahi backend needs it. */
interface ChildHandle {
  onLine(stream: 'stdout' | 'stderr', handler: (line: string) => void): void;
  onExit(handler: (code: number | null, signal: string | null) => void): void;
  kill(signal?: 'SIGTERM' | 'SIGKILL'): void;
  readonly exited: boolean;
}

/** Starts `argv` (no shell). */
type ProcessSpawner = (argv: Array<string>) => ChildHandle;

/** What a backend publishes: the instance label, the port and TXT pairs. */
type BackendAdvert = { instance: string; port: number; txt: Record<string, string> };

type BackendLostReason = 'goodbye' | 'expired' | 'removed';

type BackendHandlers = {
  onFound(s: ServiceSighting): void;
  onLost(instance: string, reason: BackendLostReason): void;
  onError(e: Error): void;
};

/** A way to publish and browse: avahi-daemon (the OS responder) or our own responder. */
interface MdnsBackend {
  readonly kind: 'avahi' | 'responder';
  start(advert: BackendAdvert | undefined, handlers: BackendHandlers): Promise<void>;
  /** Withdraws the advert (goodbyes) and stops browsing. */
  stop(): Promise<void>;
  stats(): Record<string, number>;
}

export type {
  MulticastSocket,
  MulticastSocketFactory,
  InterfaceAddress,
  InterfaceLister,
  ChildHandle,
  ProcessSpawner,
  BackendAdvert,
  BackendLostReason,
  BackendHandlers,
  MdnsBackend,
};
