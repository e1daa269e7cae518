import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CellarError } from "cellar";
import { Hono } from "hono";
import { clientModule, type CellarServer } from "cellar/node";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ChatStore, type ChatRoom } from "./chat-store.js";
import { MAIN } from "./identity.js";
import { createChatRoom, createChatRoomInput } from "./lobby.js";

const publicDir = fileURLToPath(new URL("../public/", import.meta.url));

/** HTTP status of the errors the API passes on. */
const STATUS: Record<string, ContentfulStatusCode> = { INVALID_PAYLOAD: 400, CHAT_ROOM_EXISTS: 409 };

/**
 * The HTTP side: the page, the client's modules under /cellar/, and a small API over the
 * main lobby. The API runs its code inside the lobby instance with `server.invoke`, queued
 * with the instance's events, so it needs the server (or anything with its `invoke`).
 */
export function createApp(server: Pick<CellarServer, "invoke">): Hono {
  const app = new Hono();
  app.get("/", async (c) => c.html(await readFile(join(publicDir, "index.html"), "utf8")));
  app.get("/cellar/*", async (c) => {
    const source = await clientModule(c.req.path.slice("/cellar/".length));
    return source === undefined ? c.notFound() : c.body(source, 200, { "content-type": "text/javascript; charset=utf-8" });
  });

  app.get("/api/chat-rooms", async (c) => {
    const rooms = await server.invoke("lobby", MAIN, (ctx) => new ChatStore(ctx.storage.sql).visibleTo(null));
    return c.json({ rooms });
  });

  app.post("/api/chat-rooms", async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    const input = createChatRoomInput.safeParse(body);
    if (!input.success) {
      return c.json({ error: { code: "INVALID_PAYLOAD", message: input.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") } }, 400);
    }
    try {
      const room: ChatRoom = await server.invoke("lobby", MAIN, (ctx) => createChatRoom(ctx, input.data, null));
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
