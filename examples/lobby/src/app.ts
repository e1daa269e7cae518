import { CellarError, type RoomAccess } from "cellar";
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ChatRoom } from "./chat-store.js";
import { MAIN } from "./identity.js";
import { createChatRoomInput } from "./lobby.js";

/** HTTP status of the errors the API passes on. */
const STATUS: Record<string, ContentfulStatusCode> = { INVALID_PAYLOAD: 400, CHAT_ROOM_EXISTS: 409 };

/** The rooms as a request reaches them: the Node server, or `cellar.rooms(c.env)` on Workers. */
export type RoomsOf = (c: Context) => Pick<RoomAccess, "call">;

/**
 * The HTTP API over the main lobby, the same on both hosts (the page and the client are
 * served by src/node-page.ts on Node, by static assets on Cloudflare). Each route runs one of
 * the lobby's actions inside the instance, queued with its events.
 */
export function createApp(rooms: RoomsOf): Hono {
  const app = new Hono();

  app.get("/api/chat-rooms", async (c) => c.json(await rooms(c).call<{ rooms: ChatRoom[] }>("lobby", MAIN, "list-public-rooms")));

  app.post("/api/chat-rooms", async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    const input = createChatRoomInput.safeParse(body);
    if (!input.success) {
      return c.json({ error: { code: "INVALID_PAYLOAD", message: input.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") } }, 400);
    }
    try {
      const room = await rooms(c).call<ChatRoom>("lobby", MAIN, "create-room", input.data);
      return c.json({ room }, 201);
    } catch (error) {
      if (error instanceof CellarError && STATUS[error.code]) {
        return c.json({ error: { code: error.code, message: error.message } }, STATUS[error.code]!);
      }
      throw error;
    }
  });
  return app;
}
