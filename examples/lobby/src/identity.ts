import { CellarError, type AuthResult } from "cellar";
import { z } from "zod";

/** The instance of each kind the page and the HTTP API use. Other ids work the same way. */
export const MAIN = "main";

/** Ids of chat rooms and games: short, URL- and key-safe. */
export const roomId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/i, "1-64 letters, digits, '-' or '_'");

/**
 * Who you are is the `name` you connect with (no passwords: this is an example). It becomes
 * the connection's `userId`, so membership and scores follow the name across tabs, fresh
 * sessions and restarts.
 */
export function authenticateByName(params: Readonly<Record<string, unknown>>): AuthResult {
  const name = typeof params.name === "string" ? params.name.trim() : "";
  if (name.length < 1 || name.length > 32) {
    throw new CellarError("UNAUTHORIZED", "Connect with params.name: 1 to 32 characters");
  }
  return { userId: name };
}

/** The authenticated name (every connection of these rooms has one). */
export function userOf(connection: { readonly userId: string | undefined }): string {
  return connection.userId!;
}
