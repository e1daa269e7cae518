/**
 * The HTTP API's logic: creating a session and reading a host's index. app.ts maps these to
 * routes; each returns the status and the JSON body to send.
 */
import { randomInt } from "node:crypto";
import { CellarError, sha256, type RoomContext } from "cellar";
import type { CellarServer } from "cellar/node";
import { ERRORS, ROOM_KIND, type ApiError, type CreateSessionResponse, type HostIndexEntry } from "../shared/protocol.js";
import { isHostId, isHostKey, validateSession } from "../shared/validation.js";
import { authKey, hostKeyMatches, HOSTS, indexKey, readIndex, withEntry } from "./host-index.js";
import { indexEntryOf, openSession, type ResolvedArenaOptions } from "./room.js";

export type Reply<T> = { status: 200 | 201; body: T } | { status: 400 | 401 | 403 | 409 | 503; body: ApiError };

const refuse = (status: 400 | 401 | 403 | 409 | 503, code: keyof typeof ERRORS, message: string = ERRORS[code]) => ({ status, body: { code, message } });

/** How many random codes are tried before giving up (the space is 9,000 codes). */
const CODE_ATTEMPTS = 200;

/** `POST /api/sessions`: validates, claims the host id for its key, opens the session in a free code. */
export async function createSession(server: CellarServer, resolved: ResolvedArenaOptions, body: unknown): Promise<Reply<CreateSessionResponse>> {
  const request = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (!isHostId(request.hostId)) return refuse(400, "INVALID_HOST_ID");
  if (!isHostKey(request.hostKey)) return refuse(400, "INVALID_HOST_KEY");
  const checked = validateSession(body, { minTimerSeconds: resolved.minTimerSeconds });
  if (!checked.ok) {
    const [first] = checked.problems;
    return { status: 400, body: { code: first!.code, message: first!.message, problems: checked.problems } };
  }
  const hostId = request.hostId;
  const hostKeyHash = await sha256(request.hostKey);
  if (!(await claimHostId(server, hostId, request.hostKey, hostKeyHash))) return refuse(409, "HOST_ID_TAKEN");

  // Codes never used (or cleared) first; an ended session's code only when those are scarce.
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const code = String(randomInt(1000, 10_000));
    const replaceEnded = attempt >= CODE_ATTEMPTS / 2;
    const opened = await server.invoke(ROOM_KIND, code, (ctx: RoomContext<object>) =>
      openSession(ctx, { session: checked.session, hostId, hostKeyHash, replaceEnded }, resolved),
    );
    if (opened) return { status: 201, body: { code } };
  }
  return refuse(503, "NO_CODE_AVAILABLE");
}

/**
 * Records the key's hash as the owner of `hostId` when the id is new; false when another key
 * owns it. Two first uses racing both write the same id: the room runs them one at a time.
 */
async function claimHostId(server: CellarServer, hostId: string, hostKey: string, hostKeyHash: string): Promise<boolean> {
  return server.invoke("host-auth", hostId, async (ctx) => {
    const kv = ctx.kv(HOSTS);
    const stored = await kv.get(authKey(hostId));
    if (stored === null) {
      await kv.put(authKey(hostId), hostKeyHash);
      return true;
    }
    return hostKeyMatches(hostKey, stored);
  });
}

/**
 * `GET /api/hosts/<hostId>/sessions` with `Authorization: Bearer <hostKey>`: the host's
 * sessions, newest first. Entries not yet ended are checked against their rooms and
 * corrected (see host-index.ts).
 */
export async function hostSessions(server: CellarServer, hostId: string, authorization: string | undefined): Promise<Reply<HostIndexEntry[]>> {
  const hostKey = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
  if (!hostKey) return refuse(401, "UNAUTHORIZED");
  if (!isHostId(hostId)) return refuse(400, "INVALID_HOST_ID");
  const kv = server.kv(HOSTS);
  const owner = await kv.get(authKey(hostId));
  if (owner === null) return { status: 200, body: [] };
  if (!(await hostKeyMatches(hostKey, owner))) return refuse(403, "WRONG_HOST_KEY", "This host key does not open this host's sessions");

  let entries = await readIndex(kv, hostId);
  let healed = false;
  for (const entry of entries.filter((e) => e.status !== "ended")) {
    const current = await server.invoke(ROOM_KIND, entry.code, (ctx) => indexEntryOf(ctx, entry.createdAt));
    // A room that no longer holds this session was purged after it ended.
    const fresh = current ?? { ...entry, status: "ended" as const };
    if (JSON.stringify(fresh) !== JSON.stringify(entry)) {
      entries = withEntry(entries, fresh);
      healed = true;
    }
  }
  if (healed) await kv.put(indexKey(hostId), JSON.stringify(entries));
  return { status: 200, body: entries };
}

export function errorBody(error: unknown): ApiError {
  return error instanceof CellarError ? { code: error.code, message: error.message } : { code: "INTERNAL", message: "Something went wrong on the server" };
}
