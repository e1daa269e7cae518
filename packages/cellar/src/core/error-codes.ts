/**
 * The catalog of every error code Cellar itself produces. `docs/errors.md` lists the
 * same codes (a test keeps the two in step). Apps may throw `CellarError` with codes of
 * their own; those travel to clients unchanged.
 */
export const ERROR_CODES = {
  // Malformed or hostile input: the frame is rejected, nothing changes.
  BAD_FRAME: { description: "The frame is not a JSON object of a known type with the required fields." },
  BINARY_NOT_SUPPORTED: { description: "A binary frame was received; the protocol uses JSON text frames only." },
  FORBIDDEN_KEY: { description: "The payload has a `__proto__`, `constructor` or `prototype` key." },
  UNKNOWN_EVENT: { description: "No handler (and no `*` handler) exists for the event." },
  INVALID_PAYLOAD: { description: "The payload failed the handler's schema; the handler did not run." },
  RATE_LIMITED: { description: "The connection exceeded its event rate; the frame was dropped.", closeCode: 4429 },
  PAYLOAD_TOO_LARGE: { description: "The frame exceeded `maxPayloadBytes`; the socket is closed.", closeCode: 1009 },
  // Handshake and access.
  HANDSHAKE_REQUIRED: { description: "A frame other than `hello` or `ping` arrived before the handshake.", closeCode: 4400 },
  UNSUPPORTED_VERSION: { description: "The client speaks a protocol version this server does not.", closeCode: 4400 },
  HANDSHAKE_TIMEOUT: { description: "No `hello` frame arrived within `handshakeTimeoutMs`.", closeCode: 4408 },
  UNAUTHORIZED: { description: "`authenticate` refused the connection: credentials missing or wrong.", closeCode: 4401 },
  FORBIDDEN: { description: "`authenticate` refused the connection: not allowed.", closeCode: 4403 },
  ROOM_NOT_FOUND: { description: "No room kind is served at this path (HTTP 404 on upgrade)." },
  ORIGIN_NOT_ALLOWED: { description: "The upgrade's `Origin` is not allowed (HTTP 403 on upgrade)." },
  // Handlers and hooks.
  HANDLER_ERROR: { description: "A handler threw something other than a `CellarError`; details are in the server log." },
  HOOK_ERROR: { description: "A lifecycle hook (`onConnect`, `onCreate`…) failed; details are in the server log.", closeCode: 1011 },
  UNKNOWN_ACTION: { description: "`call()` named an action the room kind does not define." },
  ROOM_UNAVAILABLE: { description: "The room instance could not be loaded (a hook or its stored data failed).", closeCode: 1011 },
  // Persistence.
  PERSIST_FAILED: { description: "The commit of the handler's writes failed; its emits were dropped and state rolled back." },
  PERSIST_ERROR: { description: "A state value cannot be stored (function, symbol, class instance) or stored data is corrupt." },
  STORAGE_LIMIT: { description: "A storage limit was exceeded; `limit` names which one." },
  SQL_ERROR: { description: "An SQL statement failed (syntax, constraint, or a statement `sql.exec` does not allow)." },
  INVALID_ARGUMENT: { description: "A storage, schedule, KV or backup call, or a `cellar` command, got an argument of the wrong type or range." },
  // Lifecycle.
  SESSION_REPLACED: { description: "Another connection resumed this session (the same client, reconnected); this socket is closed.", closeCode: 4409 },
  SHUTTING_DOWN: { description: "The server is shutting down; the request was not processed.", closeCode: 1012 },
  INTERNAL_ERROR: { description: "An unexpected server error; details are in the server log.", closeCode: 1011 },
  INVALID_OPTION: { description: "An option passed to `createServer`, `defineRoom` or the client is invalid." },
  // Backups (`server.backup`, `cellar backup`, `cellar restore`).
  BACKUP_IN_PROGRESS: { description: "A backup of this server is already running; one runs at a time." },
  BACKUP_FAILED: { description: "The backup could not be completed; nothing was left at its destination." },
  BACKUP_INVALID: { description: "The directory to restore is not a complete Cellar backup, or a file in it fails its integrity check." },
  DIRECTORY_NOT_EMPTY: { description: "A backup's destination, or a restore's data directory (without `--force`), exists and is not empty." },
  DATA_DIR_IN_USE: { description: "A server runs on the data directory (a restore onto it), or holds it without an admin socket to ask (a backup)." },
  // Client side.
  TIMEOUT: { description: "A request got no answer within its `timeoutMs` (client)." },
  CONNECTION_CLOSED: { description: "The connection closed before the request was answered (client)." },
  QUEUE_FULL: { description: "The offline queue reached `maxQueueSize` (client)." },
  CONNECTION_LOST: { description: "The connection dropped after the request was sent, before its answer: it may or may not have been applied (client)." },
} as const satisfies Record<string, { description: string; closeCode?: number }>;

/** A code from Cellar's own catalog. */
export type CellarErrorCode = keyof typeof ERROR_CODES;

/** WebSocket close codes used by Cellar, documented in `docs/protocol.md`. */
export const CLOSE_CODES = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  BAD_HANDSHAKE: 4400,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  HANDSHAKE_TIMEOUT: 4408,
  SESSION_REPLACED: 4409,
  RATE_LIMITED: 4429,
} as const;
