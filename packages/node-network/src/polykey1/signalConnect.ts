import type { Clock, NodeId } from '@node-network/network-interface';
import type { KeyPair } from '@node-network/network-identity';
import type { NodeConnection, NodeConnectionManager } from '@node-network/transport';
import * as identity from '@node-network/network-identity';
import { errors as baseErrors } from '@node-network/network-interface';
import { addresses as addressUtils } from '@node-network/transport';
import * as messages from './messages.js';

/**
 * Connects to `target` the way Polykey 1.x does: asks a peer holding a
 * connection to it (`nodesConnectionSignalInitial`, signed by us over
 * `<us><target>`) to signal it; the peer answers where it sees the target
 * and tells the target (`nodesConnectionSignalFinal`) to punch toward us;
 * we dial that address until the punch opens it. Tries `relays` in turn.
 * Rejects with the last failure when none worked within `timer`.
 */
async function connectBySignalInitial({
  manager,
  keyPair,
  clock,
  target,
  relays,
  timer = 15_000,
  signal,
  dialTimeoutTime = 2_000,
}: {
  manager: NodeConnectionManager;
  keyPair: KeyPair;
  clock: Clock;
  target: NodeId;
  relays: ReadonlyArray<NodeConnection>;
  timer?: number;
  signal?: AbortSignal;
  dialTimeoutTime?: number;
}): Promise<{ nc: NodeConnection; relay: NodeId; attempts: Array<string> }> {
  const us = keyPair.publicKey as NodeId;
  const request = {
    targetNodeIdEncoded: identity.encodeNodeId(target),
    signature: Buffer.from(
      identity.sign(keyPair.privateKey, messages.signalRequestData(us, target)),
    ).toString('base64url'),
  };
  const t0 = clock.now();
  const left = () => timer - (clock.now() - t0);
  const attempts: Array<string> = [];
  let last: Error | undefined;
  for (const relay of relays) {
    if (left() <= 0 || signal?.aborted) break;
    const relayText = identity.encodeNodeId(relay.connection.remoteNodeId);
    try {
      const answer = messages.parseSignalInitialAnswer(
        await relay.rpc.unary('nodesConnectionSignalInitial', request, {
          timer: Math.min(5_000, left()),
          signal,
        }),
      );
      const to = addressUtils.toAddress(answer.host, answer.port);
      // The target punches 1 s, 2 s, 4 s ... after the signal: keep dialling until one gets through.
      while (left() > 0 && !signal?.aborted) {
        try {
          const nc = await manager.connect(target, [to], {
            timer: Math.min(dialTimeoutTime, left()),
            signal,
          });
          return { nc, relay: relay.connection.remoteNodeId, attempts };
        } catch (e) {
          last = e as Error;
        }
      }
      attempts.push(`${relayText}: signalled, ${answer.host}:${answer.port} never answered`);
    } catch (e) {
      last = e as Error;
      attempts.push(`${relayText}: ${(e as Error).message}`);
    }
  }
  throw new baseErrors.ErrorConnectionDial(
    `No Polykey 1.x signal through ${relays.length} peers reached ${identity.encodeNodeId(target)}: ${attempts.join('; ') || 'no peer to ask'}`,
    { cause: last, data: { attempts } },
  );
}

export { connectBySignalInitial };
