import type { CellarClient } from "cellar/client";
import type { CellarServer } from "cellar/node";

export interface Profile {
  userId: string;
  messageCount: number;
  lastSeen: number | null;
  theme: { mode: string; accent: string; font: { size: number } };
  online: boolean;
}

export interface Message {
  id: number;
  userId: string;
  text: string;
  sentAt: number;
}

export interface Greeting {
  profile: Profile;
  history: Message[];
}

export const DEFAULT_THEME = { mode: "light", accent: "#2563eb", font: { size: 16 } };

/** Waits for the connection and for the `profile` and `history` frames that `onConnect` sends. */
export async function greeted(client: CellarClient): Promise<Greeting> {
  const profile = new Promise<Profile>((resolve) => client.once("profile", resolve));
  const history = new Promise<Message[]>((resolve) => client.once("history", (h: { messages: Message[] }) => resolve(h.messages)));
  await client.waitForConnection();
  return { profile: await profile, history: await history };
}

/** The next `event` frame the client receives. */
export function next<T>(client: CellarClient, event: string): Promise<T> {
  return new Promise<T>((resolve) => client.once(event, resolve));
}

/** The first `event` frame from now on that satisfies `test`. */
export function until<T>(client: CellarClient, event: string, test: (data: T) => boolean): Promise<T> {
  return new Promise<T>((resolve) => {
    const listener = (data: T) => {
      if (!test(data)) return;
      client.off(event, listener);
      resolve(data);
    };
    client.on(event, listener);
  });
}

/** The error code a request was refused with. */
export function refusal(request: Promise<unknown>): Promise<string> {
  return request.then(
    (value) => `resolved with ${JSON.stringify(value)}`,
    (error: { code: string }) => error.code,
  );
}

/** Every storage entry and every history row of the instance, to compare before and after. */
export function snapshot(server: CellarServer, id = "main") {
  return server.invoke("notes", id, async (ctx) => ({
    storage: [...(await ctx.storage.list()).entries()],
    history: ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'").toArray().length
      ? ctx.storage.sql.exec("SELECT * FROM messages ORDER BY id").toArray()
      : [],
  }));
}
