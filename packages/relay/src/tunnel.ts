import type { NodeId, Stream } from '@node-network/network-interface';
import type { PeerIdentity } from '@node-network/network-identity';
import type { MuxTransport } from './mux/MuxSession.js';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { ErrorRelayCircuitBroken, ErrorRelayHandshake, ErrorRelayTampered } from './errors.js';

/** ALPN of the end-to-end tunnel: TLS 1.3, then the mux frames. */
const tunnelAlpn = 'node-network-relay/1';

/** What a node needs to run the end-to-end handshake: its key and chain, and how it checks a peer's. */
type TunnelIdentity = {
  keyPem: string;
  certPem: string;
  /** Verifies a peer's chain (DER, leaf first): NodeId, network membership, validity. */
  verify(chain: ReadonlyArray<Uint8Array>, expected: NodeId | undefined): Promise<PeerIdentity>;
};

/**
 * An error from the TLS layer: OpenSSL failures on a reliable, ordered stream
 * mean the bytes were altered, dropped or reordered on the way (the relay).
 */
function classifyTlsError(e: Error & { code?: string; library?: string }): Error {
  const ssl =
    e.library === 'SSL routines' ||
    (typeof e.code === 'string' && e.code.startsWith('ERR_SSL_')) ||
    /bad record mac|decryption failed|wrong version number|record layer|decrypt/i.test(e.message);
  if (ssl) {
    return new ErrorRelayTampered(
      `Bytes through the relay failed end-to-end authentication (${e.message}); nothing altered was delivered`,
      { cause: e },
    );
  }
  return new ErrorRelayCircuitBroken(`The relay circuit broke: ${e.message}`, { cause: e });
}

/** The DER chain a TLS peer sent, leaf first. */
function peerChain(socket: tls.TLSSocket): Array<Uint8Array> {
  const chain: Array<Uint8Array> = [];
  let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true) as
    tls.DetailedPeerCertificate | undefined;
  while (c != null && c.raw != null && chain.length < 8) {
    if (chain.some((d) => Buffer.from(d).equals(c!.raw))) break;
    chain.push(new Uint8Array(c.raw));
    c = c.issuerCertificate;
  }
  return chain;
}

/**
 * A node Duplex over a `Stream` for node:tls. Writes the TLS layer corks
 * together (its records, 16 KiB at most each) go to the stream as one chunk:
 * measured, one stream write per record cost the relayed path half its
 * throughput (each write is a QUIC stream send).
 */
class StreamDuplex extends Duplex {
  protected writer: WritableStreamDefaultWriter<Uint8Array>;
  protected reader: ReadableStreamDefaultReader<Uint8Array>;
  protected reading = false;

  public constructor(stream: Stream) {
    super({ writableHighWaterMark: 256 * 1024, readableHighWaterMark: 256 * 1024 });
    this.writer = stream.writable.getWriter();
    this.reader = stream.readable.getReader();
  }

  public _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.writer.write(chunk).then(() => cb(), cb);
  }

  public _writev(chunks: Array<{ chunk: Buffer }>, cb: (e?: Error | null) => void): void {
    const one = chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.writer.write(one).then(() => cb(), cb);
  }

  public _final(cb: (e?: Error | null) => void): void {
    this.writer.close().then(() => cb(), cb);
  }

  public _read(): void {
    if (this.reading) return;
    this.reading = true;
    const pump = (): void => {
      this.reader.read().then(
        ({ done, value }) => {
          if (done) {
            this.reading = false;
            this.push(null);
            return;
          }
          if (this.push(value)) pump();
          else this.reading = false;
        },
        (e: Error) => {
          this.reading = false;
          this.destroy(e);
        },
      );
    };
    pump();
  }

  public _destroy(e: Error | null, cb: (e?: Error | null) => void): void {
    // After a graceful end (`_final` closed the writer) there is nothing to abort.
    if (!this.writableFinished) void this.writer.abort(e ?? undefined).catch(() => {});
    void this.reader.cancel(e ?? undefined).catch(() => {});
    cb(e);
  }
}

/**
 * Runs TLS 1.3 over `stream` (a circuit through a relay), both sides
 * presenting their NodeId certificates, and checks the peer as a direct
 * connection does: its chain, its network membership, and (as the dialler)
 * that it is `expected`. Resolves with the encrypted socket and the peer.
 */
async function openTunnel({
  stream,
  role,
  tunnelIdentity,
  expected,
  signal,
}: {
  stream: Stream;
  role: 'client' | 'server';
  tunnelIdentity: TunnelIdentity;
  expected?: NodeId;
  signal?: AbortSignal;
}): Promise<{ socket: tls.TLSSocket; peer: PeerIdentity }> {
  const duplex = new StreamDuplex(stream);
  // Its errors reach us through the TLS socket (and the circuit's end); never as an unhandled 'error'.
  duplex.on('error', () => {});
  const common = {
    key: tunnelIdentity.keyPem,
    cert: tunnelIdentity.certPem,
    minVersion: 'TLSv1.3' as const,
    maxVersion: 'TLSv1.3' as const,
    ALPNProtocols: [tunnelAlpn],
    // Chains are checked by NodeId and membership below, not by a web PKI.
    rejectUnauthorized: false,
  };
  const socket =
    role === 'client'
      ? tls.connect({ ...common, socket: duplex })
      : new tls.TLSSocket(duplex, {
          ...common,
          isServer: true,
          requestCert: true,
          secureContext: tls.createSecureContext(common),
        });
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () =>
        reject(
          new baseErrors.ErrorCancelled('Relay handshake was cancelled', { cause: signal?.reason }),
        );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (e?: Error) => {
        signal?.removeEventListener('abort', onAbort);
        socket.off('error', done);
        socket.off('close', onClose);
        if (e != null) reject(e);
        else resolve();
      };
      const onClose = () => done(new Error('the circuit closed during the handshake'));
      socket.once(role === 'client' ? 'secureConnect' : 'secure', () => done());
      socket.once('error', done);
      socket.once('close', onClose);
    });
  } catch (e) {
    socket.destroy();
    duplex.destroy();
    if (e instanceof baseErrors.ErrorCancelled) throw e;
    throw new ErrorRelayHandshake(
      `End-to-end TLS handshake through the relay failed: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (role === 'server') {
    // A TLSSocket made without tls.Server swallows its errors (emitting only the internal
    // '_tlsError') until control is released, as tls.Server does after the handshake: a
    // bad record MAC would look like a plain close.
    (socket as unknown as { _releaseControl?: () => void })._releaseControl?.();
  }
  // Until the mux takes the socket (after the check below), an error must not go unhandled:
  // the mux's pipe sees the socket destroyed and closes at once.
  const early = (): void => {};
  socket.on('error', early);
  let peer: PeerIdentity;
  try {
    peer = await tunnelIdentity.verify(peerChain(socket), expected);
  } catch (e) {
    socket.destroy();
    throw new baseErrors.ErrorConnectionPeerRejected(
      `Peer through the relay was refused: ${(e as Error).message}`,
      { cause: e },
    );
  }
  socket.off('error', early);
  // When the TLS socket closes, the stream under it goes too (the peer sees the end at once).
  socket.once('close', () => duplex.destroy());
  if (socket.destroyed) {
    throw new ErrorRelayCircuitBroken('The relay circuit closed during the handshake');
  }
  return { socket, peer };
}

/** The mux's pipe over an open tunnel; `onData`/`onEnd` receive what arrives. */
function tunnelTransport(
  socket: tls.TLSSocket,
  { onData, onEnd }: { onData: (b: Uint8Array) => void; onEnd: (e?: Error) => void },
): MuxTransport {
  let ended = false;
  const end = (e?: Error) => {
    if (ended) return;
    ended = true;
    onEnd(e);
  };
  socket.on('data', (b: Buffer) => onData(new Uint8Array(b.buffer, b.byteOffset, b.length)));
  socket.on('error', (e) => end(classifyTlsError(e)));
  socket.on('end', () => end());
  socket.on('close', () => end());
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (socket.destroyed || !socket.writable) {
          return reject(new ErrorRelayCircuitBroken('The relay circuit is closed'));
        }
        if (socket.write(bytes)) return resolve();
        const onDrain = () => {
          socket.off('close', onClose);
          resolve();
        };
        const onClose = () => {
          socket.off('drain', onDrain);
          reject(new ErrorRelayCircuitBroken('The relay circuit closed'));
        };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      }),
    close: (reason) => {
      if (reason == null) socket.end();
      else socket.destroy();
    },
  };
}

/** A `TunnelIdentity` from a key pair and chain, verifying peers as QUIC connections do. */
function tunnelIdentityOf({
  privateKey,
  certificateChain,
  network,
  now = () => new Date(),
}: {
  privateKey: Uint8Array;
  certificateChain: ReadonlyArray<Uint8Array>;
  network: identity.NetworkId;
  now?: () => Date;
}): TunnelIdentity {
  return {
    keyPem: identity.privateKeyToPem(privateKey),
    certPem: identity.certificateChainToPem(certificateChain),
    verify: (chain, expected) =>
      identity.verifyPeerCertificateChain(chain, { network, now: now(), expectedNodeId: expected }),
  };
}

export { openTunnel, tunnelTransport, tunnelIdentityOf, classifyTlsError, tunnelAlpn };
export type { TunnelIdentity };
