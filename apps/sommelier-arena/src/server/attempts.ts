/**
 * Limits how many unknown session codes one client address may try, so the 9,000 four-digit
 * codes cannot be walked through. Only failures cost: a room full of phones behind one Wi-Fi
 * address joins freely, and reconnecting after a restart costs nothing.
 *
 * In memory, per server process (a restart forgets it, which only helps an attacker for a
 * moment). A token bucket per address: `burst` failures at once, then `perMinute`.
 */
export interface AttemptLimits {
  burst: number;
  perMinute: number;
}

export class UnknownCodeLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limits: AttemptLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `address` has used up its failures (it is refused even for existing codes). */
  blocked(address: string): boolean {
    return this.#refill(address).tokens < 1;
  }

  /** Counts one unknown code tried from `address`. */
  fail(address: string): void {
    const bucket = this.#refill(address);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.#buckets.set(address, bucket);
    if (this.#buckets.size > 10_000) this.#sweep();
  }

  #refill(address: string): { tokens: number; at: number } {
    const now = this.now();
    const bucket = this.#buckets.get(address);
    if (!bucket) return { tokens: this.limits.burst, at: now };
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + ((now - bucket.at) * this.limits.perMinute) / 60_000);
    bucket.at = now;
    return bucket;
  }

  /** Forgets addresses whose bucket is full again. */
  #sweep(): void {
    for (const address of [...this.#buckets.keys()]) {
      if (this.#refill(address).tokens >= this.limits.burst) this.#buckets.delete(address);
    }
  }
}
