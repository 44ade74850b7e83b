import type { NodeId } from '@node-network/network-interface';
import type { NodeNetwork } from 'node-network';
import crypto from 'node:crypto';
import { RawHandler } from '@node-network/transport';

/**
 * `sink`: reads every byte of the call, then answers one JSON line with how
 * many arrived and their SHA-256 (a transfer's end-to-end check).
 */
class SinkHandler extends RawHandler<{}> {
  public timeout = 600_000;
  public handle = async ([, input]: [unknown, any]): Promise<any> => {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    const reader = (input as ReadableStream<Uint8Array>).getReader();
    const output = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          hash.update(r.value);
          bytes += r.value.length;
        }
        controller.enqueue(
          Buffer.from(`${JSON.stringify({ bytes, sha256: hash.digest('hex') })}\n`),
        );
        controller.close();
      },
    });
    return [{}, output];
  };
}

type TransferResult = { bytes: number; ms: number; mbPerS: number; intact: boolean };

/** Sends `bytes` of random data to `nodeId`'s `sink` over the live connection; checks what arrived. */
async function transfer(nn: NodeNetwork, nodeId: NodeId, bytes: number): Promise<TransferResult> {
  const nc = nn.connectionManager.getConnection(nodeId);
  if (nc == null) throw new Error('not connected');
  const t0 = performance.now();
  const stream = await nc.rpc.raw('sink', {}, { timer: 600_000 });
  const hash = crypto.createHash('sha256');
  const writer = stream.writable.getWriter();
  for (let sent = 0; sent < bytes;) {
    const chunk = crypto.randomBytes(Math.min(64 * 1024, bytes - sent));
    hash.update(chunk);
    await writer.write(chunk);
    sent += chunk.length;
  }
  await writer.close();
  let text = '';
  for await (const c of stream.readable as any) text += Buffer.from(c).toString();
  const got = JSON.parse(text.trim()) as { bytes: number; sha256: string };
  const ms = performance.now() - t0;
  return {
    bytes: got.bytes,
    ms: Math.round(ms),
    mbPerS: +(got.bytes / 1e6 / (ms / 1000)).toFixed(1),
    intact: got.bytes === bytes && got.sha256 === hash.digest('hex'),
  };
}

export { SinkHandler, transfer };
export type { TransferResult };
