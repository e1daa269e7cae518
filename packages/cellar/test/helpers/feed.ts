/*
 * Reading and driving the `feed` room (conformance/rooms.ts), whose `say` broadcasts
 * numbered lines: what the resume tests, on every host and Node-only, check replay with.
 */
import type { CellarClient } from "cellar/client";

/** The numbers of the lines the client receives from now on. */
export function lines(client: CellarClient): number[] {
  const seen: number[] = [];
  client.on("line", (data: { n: number }) => seen.push(data.n));
  return seen;
}

/** `from`, `from + 1`, … `to`. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Requests `say` back to back (the room broadcasts each line) until stopped; resolves with the last line. */
export function pump(writer: CellarClient): { stop(): Promise<number> } {
  let running = true;
  let last = 0;
  const done = (async () => {
    while (running) last = (await writer.request("say")) as number;
  })();
  return {
    async stop() {
      running = false;
      await done;
      return last;
    },
  };
}
