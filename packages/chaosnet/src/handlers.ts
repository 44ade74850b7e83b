import type { JSONObject } from '@node-network/transport';
import crypto from 'node:crypto';
import { RawHandler, UnaryHandler } from '@node-network/transport';

/**
 * `chaosSink`: reads every byte of the call, then answers one JSON line with
 * how many arrived and their SHA-256: the transfer's end-to-end check.
 * `tamper` flips one bit of the first chunk before hashing (a deliberately
 * broken node, to prove the integrity invariant can fail).
 */
class ChecksumSinkHandler extends RawHandler<{ tamper: boolean }> {
  public timeout = 600_000;
  public handle = async ([, input]: [unknown, any]): Promise<any> => {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    let first = true;
    const reader = (input as ReadableStream<Uint8Array>).getReader();
    const output = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          let chunk = r.value;
          if (this.container.tamper && first && chunk.length > 0) {
            chunk = Uint8Array.from(chunk);
            chunk[0] ^= 0x01;
          }
          first = false;
          hash.update(chunk);
          bytes += chunk.length;
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

/** `chaosEcho`: answers the request's `data` as it arrived, with the node's name. */
class EchoHandler extends UnaryHandler<{ name: string }, JSONObject, JSONObject> {
  public handle = async (input: JSONObject): Promise<JSONObject> => ({
    data: typeof input.data === 'string' ? input.data.slice(0, 65536) : null,
    from: this.container.name,
  });
}

export { ChecksumSinkHandler, EchoHandler };
