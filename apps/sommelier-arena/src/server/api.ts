/**
 * The HTTP API's logic: creating a session and reading a host's index. app.ts maps these to
 * routes; each returns the status and the JSON body to send.
 */
import { CellarError, sha256, type RoomAccess } from "cellar";
import { ERRORS, ROOM_KIND, type ApiError, type CreateSessionResponse, type HostIndexEntry } from "../shared/protocol.js";
import { isHostId, isHostKey, validateSession } from "../shared/validation.js";
import { authKey, hostKeyMatches, HOSTS, indexKey, readIndex, withEntry } from "./host-index.js";
import type { ResolvedArenaOptions } from "./room.js";

export type Reply<T> = { status: 200 | 201; body: T } | { status: 400 | 401 | 403 | 409 | 503; body: ApiError };

const refuse = (status: 400 | 401 | 403 | 409 | 503, code: keyof typeof ERRORS, message: string = ERRORS[code]) => ({ status, body: { code, message } });

/** How many random codes are tried before giving up (the space is 9,000 codes). */
const CODE_ATTEMPTS = 200;

/** `POST /api/sessions`: validates, claims the host id for its key, opens the session in a free code. */
export async function createSession(rooms: RoomAccess, resolved: ResolvedArenaOptions, body: unknown): Promise<Reply<CreateSessionResponse>> {
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
  const claimed = await rooms.call<boolean>("host-auth", hostId, "claim", { hostId, hostKey: request.hostKey, hostKeyHash });
  if (!claimed) return refuse(409, "HOST_ID_TAKEN");

  // Codes never used (or cleared) first; an ended session's code only when those are scarce.
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const code = String(randomCode());
    const replaceEnded = attempt >= CODE_ATTEMPTS / 2;
    const opened = await rooms.call<boolean>(ROOM_KIND, code, "open", { session: checked.session, hostId, hostKeyHash, replaceEnded });
    if (opened) return { status: 201, body: { code } };
  }
  return refuse(503, "NO_CODE_AVAILABLE");
}

/** A session code from 1000 to 9999, uniformly (rejection sampling over 16 random bits). */
function randomCode(): number {
  const value = new Uint16Array(1);
  do crypto.getRandomValues(value);
  while (value[0]! >= 63_000);
  return 1000 + (value[0]! % 9000);
}

/**
 * `GET /api/hosts/<hostId>/sessions` with `Authorization: Bearer <hostKey>`: the host's
 * sessions, newest first. Entries not yet ended are checked against their rooms and
 * corrected (see host-index.ts).
 */
export async function hostSessions(rooms: RoomAccess, hostId: string, authorization: string | undefined): Promise<Reply<HostIndexEntry[]>> {
  const hostKey = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
  if (!hostKey) return refuse(401, "UNAUTHORIZED");
  if (!isHostId(hostId)) return refuse(400, "INVALID_HOST_ID");
  const kv = rooms.kv(HOSTS);
  const owner = await kv.get(authKey(hostId));
  if (owner === null) return { status: 200, body: [] };
  if (!(await hostKeyMatches(hostKey, owner))) return refuse(403, "WRONG_HOST_KEY", "This host key does not open this host's sessions");

  let entries = await readIndex(kv, hostId);
  let healed = false;
  for (const entry of entries.filter((e) => e.status !== "ended")) {
    const current = await rooms.call<HostIndexEntry | undefined>(ROOM_KIND, entry.code, "indexEntry", { createdAt: entry.createdAt });
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
