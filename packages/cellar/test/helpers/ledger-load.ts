import { expect } from "vitest";
import type { CellarClient } from "cellar/client";

/**
 * Clients that write without pause to `ledger` rooms (fixtures/backup-rooms.ts) until
 * stopped, remembering which writes were acknowledged. Each write adds a distinct number.
 */
export class LedgerLoad {
  /** Numbers acknowledged, per ledger id. */
  readonly acked = new Map<string, Set<number>>();
  /** Numbers sent, acknowledged or not, per ledger id. */
  readonly sent = new Map<string, Set<number>>();
  /** Rounds completed by each chain (see `chain`). */
  readonly rounds = new Map<string, number>();
  readonly #runs: Array<Promise<void>> = [];
  #stopped = false;

  /** `window` writers on `client`, a client of ledger `id`. */
  write(id: string, client: CellarClient, window = 4): void {
    const acked = new Set<number>();
    const sent = new Set<number>();
    this.acked.set(id, acked);
    this.sent.set(id, sent);
    let next = 1;
    const writer = async () => {
      while (!this.#stopped) {
        const n = next++;
        sent.add(n);
        try {
          await client.request("add", n, { timeoutMs: 30_000 });
        } catch {
          return; // the server went away: this write may or may not be there
        }
        acked.add(n);
      }
    };
    for (let i = 0; i < window; i++) this.#runs.push(writer());
  }

  /**
   * A chain: one write to `first`, its ack, one to `second`, its ack, again and again. At
   * any moment the first's count is the second's or one more; a copy made at one moment
   * must show the same.
   */
  chain(name: string, first: () => Promise<unknown>, second: () => Promise<unknown>): void {
    this.rounds.set(name, 0);
    const run = async () => {
      while (!this.#stopped) {
        try {
          await first();
          await second();
        } catch {
          return;
        }
        this.rounds.set(name, this.rounds.get(name)! + 1);
      }
    };
    this.#runs.push(run());
  }

  /** Acknowledged writes over every ledger. */
  total(): number {
    let total = 0;
    for (const acked of this.acked.values()) total += acked.size;
    return total;
  }

  /** What is acknowledged now, kept apart from what comes later. */
  snapshot(): Map<string, Set<number>> {
    return new Map([...this.acked].map(([id, acked]) => [id, new Set(acked)]));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#runs);
  }
}

/**
 * Checks a ledger as a restored server has it: its state agrees with its SQL rows, every
 * write in `required` is there, and nothing that was never sent.
 */
export async function expectLedger(client: CellarClient, required: Set<number>, sent: Set<number>): Promise<number[]> {
  const { count, entries } = (await client.request("read")) as { count: number; entries: number[] };
  expect(count, "state and SQL rows of one commit").toBe(entries.length);
  const present = new Set(entries);
  expect([...required].filter((n) => !present.has(n)), "acknowledged before the backup, missing").toEqual([]);
  expect(entries.filter((n) => !sent.has(n)), "never sent").toEqual([]);
  return entries;
}
