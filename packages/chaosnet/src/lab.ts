import type { Clock } from '@node-network/network-interface';
import type { ConnectOutcome, TransferOutcome } from './ops.js';
import type { Kind, NodeView, Path, ReloadableKind } from './types.js';

/** One node of a chaos lab, as agents and the conductor drive it. */
interface ChaosNode {
  readonly name: string;
  readonly nodeId: string;
  /** Its NAT kind now (a `nat` fault changes it). */
  readonly kind: Kind;
  readonly helper: boolean;
  /** The dual-stack helper that relays for IPv4/IPv6 and serves the HTTP relay. */
  readonly relay: boolean;
  readonly up: boolean;
  /** Increments at every kill: an operation whose node was killed under it was aborted, not hung. */
  readonly incarnation: number;
  connect(target: string, timeoutMs: number): Promise<ConnectOutcome>;
  echo(target: string, data: string, timeoutMs: number): Promise<{ path: Path; echoed: boolean }>;
  transfer(
    target: string,
    bytes: number,
    seed: number,
    timeoutMs: number,
  ): Promise<TransferOutcome>;
  lookup(
    via: string,
    target: string,
    timeoutMs: number,
  ): Promise<{ path: Path; addresses: number }>;
  disconnect(target: string): Promise<{ closed: boolean }>;
  view(): Promise<NodeView>;
}

type PartitionHandle = { readonly id: number; readonly nodes: ReadonlyArray<string> };

/**
 * Where a chaos run happens: netsim (`SimLab`, in-process, virtual time) or
 * network namespaces (`NetnsLab`, real processes, real time). The conductor's
 * faults map to each lab's own mechanisms.
 */
interface ChaosLab {
  readonly lab: 'sim' | 'netns';
  readonly clock: Clock;
  readonly nodes: ReadonlyArray<ChaosNode>;
  readonly helpers: ReadonlyArray<ChaosNode>;
  /** Builds the helpers and one node per entry of `kinds` (named n0, n1...), and bootstraps them. */
  start(kinds: ReadonlyArray<Kind>): Promise<void>;
  /** Crash: the node's process dies at once (no goodbye to its peers). */
  kill(node: ChaosNode): Promise<void>;
  /** Starts the node again with the same NodeId (a new port behind the same NAT). */
  restart(node: ChaosNode): Promise<void>;
  setNat(node: ChaosNode, kind: ReloadableKind): Promise<void>;
  /** Gives the node's NAT (or its outermost one) a new public IPv4 address; returns it. */
  changeAddress(node: ChaosNode): Promise<string>;
  /** Cuts `nodes` off from every other host until `heal`. */
  partition(nodes: ReadonlyArray<ChaosNode>): Promise<PartitionHandle>;
  heal(p: PartitionHandle): Promise<void>;
  /** Extra loss on a node's traffic (percent; 0 removes it), or on every link with `all`. */
  setLoss(node: ChaosNode | 'all', percent: number): Promise<void>;
  /** Extra delay on a node's traffic, ms (0 removes it). How: netsim latency, or netem / tbf. */
  setLatency(node: ChaosNode, ms: number): Promise<string>;
  /** Memory in use, MiB: this process's heap (netsim), or the agents' summed RSS (netns). */
  memoryMiB(): Promise<number>;
  /** Timers pending in the virtual clock (netsim only). */
  pendingTimers?(): number;
  /** Called when a node's process dies by itself (netns): the run records it as a violation. */
  onCrash?: (node: ChaosNode, text: string) => void;
  destroy(): Promise<void>;
}

/** Kinds whose NAT can be renumbered (its outermost router). */
const renumberableKinds: ReadonlyArray<Kind> = [
  'full-cone',
  'restricted',
  'port-restricted',
  'symmetric',
  'double-nat',
];

/**
 * The helpers a node of `kind` can reach over UDP: the IPv4 seeds (seed0-2)
 * from an IPv4 host, the IPv6 seeds (seed3-5) from an IPv6 one, the
 * dual-stack relay from both; none from behind a UDP-blocking firewall.
 */
function reachableHelpers(kind: Kind, helpers: ReadonlyArray<ChaosNode>): Array<ChaosNode> {
  if (kind === 'udp-blocked') return [];
  const v4 = kind !== 'ipv6-only';
  const v6 = kind === 'ipv6-only' || kind === 'open';
  return helpers.filter((h) => {
    if (h.relay) return true;
    const i = Number(h.name.slice('seed'.length));
    return i < 3 ? v4 : v6;
  });
}

export { renumberableKinds, reachableHelpers };
export type { ChaosNode, ChaosLab, PartitionHandle };
