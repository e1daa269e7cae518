/** How the client waits between reconnection attempts. */
export interface ReconnectOptions {
  /** Delay before the first retry (default 250 ms). */
  initialDelayMs: number;
  /** Longest delay (default 10,000 ms). */
  maxDelayMs: number;
  /** Each failed attempt multiplies the delay by this (default 2). */
  multiplier: number;
  /** Spread as a fraction of the delay, ± (default 0.3): 1,000 ms becomes 700–1,300 ms. */
  jitter: number;
  /** Attempts before giving up (default Infinity). */
  maxAttempts: number;
}

export const RECONNECT_DEFAULTS: ReconnectOptions = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  multiplier: 2,
  jitter: 0.3,
  maxAttempts: Infinity,
};

/**
 * The delay before retry number `attempt + 1`: exponential, capped, spread by the jitter so
 * that clients dropped together do not come back together.
 */
export function backoffDelay(options: ReconnectOptions, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** attempt);
  return Math.max(0, Math.round(base * (1 + options.jitter * (2 * random() - 1))));
}
