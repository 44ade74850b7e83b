import type { AddressFamily } from '@node-network/network-interface';
import { formatAddress } from '@node-network/network-interface';
import { filteringFrom } from '../probe/NATProber.js';
import type {
  FilteringClass,
  FilteringObservation,
  MappingLifetime,
  NATClassification,
  NATEvent,
  Observation,
} from './types.js';

type Config = {
  /** Distinct observers (by IP) needed before a belief is formed. */
  minObservers: number;
  /** Observations older than this (ms) are forgotten. */
  window: number;
  /** A new belief must come out of this many consecutive evaluations before it replaces the old one. */
  confirmations: number;
  /** Ports that differ by at most this, in order of observation, count as sequential allocation. */
  sequentialStride: number;
};

const defaults: Config = {
  minObservers: 3,
  window: 10 * 60_000,
  confirmations: 2,
  sequentialStride: 16,
};

function unknown(family: AddressFamily, since: number): NATClassification {
  return {
    family,
    mapping: 'unknown',
    portPreservation: undefined,
    allocation: 'unknown',
    filtering: 'unknown',
    publicAddresses: [],
    observers: 0,
    since,
  };
}

/** The part of a belief that must hold still: behind an endpoint-dependent NAT ports vary by design. */
function beliefKey(c: NATClassification): string {
  const where =
    c.mapping === 'endpoint-dependent'
      ? [...new Set(c.publicAddresses.map((a) => a.slice(0, a.lastIndexOf(':'))))].sort().join()
      : c.publicAddresses.join();
  return `${c.mapping}|${c.portPreservation}|${c.allocation}|${c.filtering}|${where}`;
}

function sameBelief(a: NATClassification, b: NATClassification): boolean {
  return beliefKey(a) === beliefKey(b);
}

const restrictiveness: Array<FilteringClass> = [
  'endpoint-independent',
  'address-dependent',
  'address-and-port-dependent',
];

/**
 * Classifies our own NAT from reflexive addresses that several peers
 * report (sans-IO: `observe(obs)` in, `classification(family)` and
 * `pollEvent()` out, time from the observations). Kept per address family.
 * A belief needs `minObservers` distinct observer IPs, and a changed belief
 * must be computed `confirmations` times in a row before it is adopted, so
 * one odd answer never flips it.
 */
class NATBehaviourDetector {
  protected config: Config;
  /** Latest observation per family, observer IP and local port. */
  protected observations = new Map<AddressFamily, Map<string, Observation>>();
  /** Latest filtering test per family and observer. */
  protected filteringObservations = new Map<AddressFamily, Map<string, FilteringObservation>>();
  protected lifetimes = new Map<AddressFamily, MappingLifetime>();
  protected current = new Map<AddressFamily, NATClassification>();
  protected candidate = new Map<AddressFamily, { belief: NATClassification; count: number }>();
  protected events: Array<NATEvent> = [];

  public constructor(config: Partial<Config> = {}) {
    this.config = { ...defaults, ...config };
  }

  public observe(obs: Observation): void {
    const family = obs.local.family;
    if (obs.reflexive.family !== family) return;
    let m = this.observations.get(family);
    if (m == null) this.observations.set(family, (m = new Map()));
    m.set(`${obs.observerAddress.host}|${obs.local.port}`, obs);
    this.evaluate(family, obs.at);
  }

  /** A filtering test's outcome (see `NATProber`); it joins the belief like an observation. */
  public observeFiltering(obs: FilteringObservation): void {
    let m = this.filteringObservations.get(obs.family);
    if (m == null) this.filteringObservations.set(obs.family, (m = new Map()));
    m.set(obs.observer, obs);
    if (this.observations.has(obs.family)) this.evaluate(obs.family, obs.at);
  }

  /** A measured mapping lifetime; the newest measurement is the one reported. */
  public observeMappingLifetime(family: AddressFamily, lifetime: MappingLifetime): void {
    this.lifetimes.set(family, lifetime);
  }

  public classification(family: AddressFamily): NATClassification {
    const c = this.current.get(family) ?? unknown(family, 0);
    const lifetime = this.lifetimes.get(family);
    return lifetime == null ? c : { ...c, mappingLifetime: lifetime };
  }

  /** The next change of belief, if any. */
  public pollEvent(): NATEvent | undefined {
    return this.events.shift();
  }

  protected evaluate(family: AddressFamily, now: number): void {
    const all = this.observations.get(family)!;
    for (const [k, o] of all) if (now - o.at > this.config.window) all.delete(k);
    const obs = [...all.values()];
    const observerIps = new Set(obs.map((o) => o.observerAddress.host));
    if (observerIps.size < this.config.minObservers) return;
    const belief = this.classify(family, obs, now);
    const cur = this.current.get(family);
    if (cur != null && sameBelief(cur, belief)) {
      this.candidate.delete(family);
      return;
    }
    const cand = this.candidate.get(family);
    const count = cand != null && sameBelief(cand.belief, belief) ? cand.count + 1 : 1;
    this.candidate.set(family, { belief, count });
    if (count < this.config.confirmations) return;
    this.candidate.delete(family);
    this.current.set(family, belief);
    this.events.push({
      type: 'classification-changed',
      previous: cur ?? unknown(family, 0),
      current: belief,
    });
  }

  /**
   * The filtering most observers' latest tests within the window agree on
   * (a tie goes to the more restrictive class).
   */
  protected filtering(family: AddressFamily, now: number): FilteringClass {
    const all = this.filteringObservations.get(family);
    if (all == null) return 'unknown';
    for (const [k, o] of all) if (now - o.at > this.config.window) all.delete(k);
    const votes = new Map<FilteringClass, number>();
    for (const o of all.values()) {
      const f = filteringFrom(o);
      if (f !== 'unknown') votes.set(f, (votes.get(f) ?? 0) + 1);
    }
    let best: FilteringClass = 'unknown';
    let bestVotes = 0;
    for (const f of restrictiveness) {
      const v = votes.get(f) ?? 0;
      if (v > 0 && v >= bestVotes) {
        best = f;
        bestVotes = v;
      }
    }
    return best;
  }

  protected classify(
    family: AddressFamily,
    obs: Array<Observation>,
    now: number,
  ): NATClassification {
    const filtering = this.filtering(family, now);
    const counts = new Map<string, number>();
    for (const o of obs)
      counts.set(formatAddress(o.reflexive), (counts.get(formatAddress(o.reflexive)) ?? 0) + 1);
    const publicAddresses = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([a]) => a);
    const observers = new Set(obs.map((o) => o.observerAddress.host)).size;
    if (obs.every((o) => o.reflexive.host === o.local.host && o.reflexive.port === o.local.port)) {
      return {
        family,
        mapping: 'none',
        portPreservation: true,
        allocation: 'preserving',
        filtering,
        publicAddresses,
        observers,
        since: now,
      };
    }
    // Per local port: do different observers see the same external endpoint?
    const byLocal = new Map<number, Array<Observation>>();
    for (const o of obs) byLocal.set(o.local.port, [...(byLocal.get(o.local.port) ?? []), o]);
    let dependent = false;
    for (const list of byLocal.values()) {
      if (new Set(list.map((o) => formatAddress(o.reflexive))).size > 1) dependent = true;
    }
    const preserved = obs.filter((o) => o.reflexive.port === o.local.port).length;
    const portPreservation = preserved * 2 > obs.length;
    let allocation: NATClassification['allocation'] = portPreservation ? 'preserving' : 'unknown';
    if (!portPreservation || dependent) {
      const ports = [...obs].sort((a, b) => a.at - b.at).map((o) => o.reflexive.port);
      const distinct = [...new Set(ports)];
      if (distinct.length >= 2) {
        const steps = distinct.slice(1).map((p, i) => Math.abs(p - distinct[i]));
        allocation = steps.every((s) => s <= this.config.sequentialStride)
          ? 'sequential'
          : 'random';
      }
    }
    return {
      family,
      mapping: dependent ? 'endpoint-dependent' : 'endpoint-independent',
      portPreservation,
      allocation,
      filtering,
      publicAddresses,
      observers,
      since: now,
    };
  }
}

export default NATBehaviourDetector;
export type { Config as NATBehaviourDetectorConfig };
