/**
 * The signal message layer (sans-IO): signed requests and answers, their
 * codec and checks, rate limits, replay protection and greedy routing.
 */
export type * from './types.js';
export * from './messages.js';
export { default as RateLimiter } from './RateLimiter.js';
export type { BucketConfig } from './RateLimiter.js';
export { default as ReplayGuard } from './ReplayGuard.js';
export { nextHop, closerThan } from './routing.js';
export * as errors from './errors.js';
export {
  planPunch,
  birthdayProbability,
  probePorts,
  portSpaceDefault,
  punchStrategyConfigDefault,
} from './strategy.js';
export type { PunchPlan, PunchStrategyConfig } from './strategy.js';
