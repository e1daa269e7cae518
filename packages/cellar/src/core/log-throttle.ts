/**
 * Internal: keeps logs that a client can provoke (a handler throwing on its input, a hook
 * failing) at a bounded rate: at most `perMinute` lines per key each minute, then one line
 * saying how many were suppressed.
 */
export class LogThrottle {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** Whether to log now; `suppressed` is how many lines of this key were dropped before. */
  allow(key: string): { log: boolean; suppressed: number } {
    const time = this.now();
    let window = this.#windows.get(key);
    if (!window || time - window.start >= 60_000) {
      const suppressed = window ? Math.max(0, window.count - this.perMinute) : 0;
      if (this.#windows.size >= 1000) this.#windows.clear(); // bounded, whatever the keys
      this.#windows.set(key, (window = { start: time, count: 0 }));
      window.count++;
      return { log: true, suppressed };
    }
    window.count++;
    return { log: window.count <= this.perMinute, suppressed: 0 };
  }
}
