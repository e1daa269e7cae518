import { vi } from "vitest";
import type { CellarClient } from "cellar/client";
import type { Scene } from "../src/scene.js";

/** Everything a tabletop client can receive, recorded in order. */
const EVENTS = ["table:sync", "table:status", "scene:updated", "scene:resync", "table:purged", "$error", "$close", "$resumed"];

export interface Watched {
  client: CellarClient;
  /** The payloads of `event` received so far. */
  of(event: string): any[];
  /** Waits until an `event` matching `match` has been received (before or after the call). */
  until(event: string, match?: (data: any) => boolean, timeoutMs?: number): Promise<any>;
}

/** Records what `client` receives; call before it connects, to see `table:sync`. */
export function watch(client: CellarClient): Watched {
  const seen: Array<{ event: string; data: any }> = [];
  for (const event of EVENTS) client.on(event, (data: unknown) => seen.push({ event, data }));
  const of = (event: string) => seen.filter((s) => s.event === event).map((s) => s.data);
  return {
    client,
    of,
    until: (event, match = () => true, timeoutMs = 15_000) =>
      vi.waitFor(
        () => {
          const found = of(event).find(match);
          if (found === undefined) throw new Error(`no "${event}" yet; got ${JSON.stringify(seen.map((s) => s.event))}`);
          return found;
        },
        { timeout: timeoutMs, interval: 20 },
      ),
  };
}

/** Waits for a refused connection's close: `{ code, reason }` (the reason is the error code). */
export async function refusal(w: Watched): Promise<{ code: number; reason: string; final: boolean }> {
  return w.until("$close");
}

export const scene: Scene = {
  characters: [
    { id: "ana", name: "Ana the Bold", hp: 12, maxHp: 14, conditions: ["blessed"] },
    { id: "gob", name: "Goblin", hp: 7, maxHp: 7, conditions: [] },
  ],
  initiative: ["gob", "ana"],
  activeSceneId: "crypt",
};
