import type { ConnectionRecord } from "./connection.js";
import type { RoomDefinition } from "./define-room.js";
import { CLOSE_CODES } from "./error-codes.js";
import { CellarError, cellarError, StorageLimitError, toClientError, type ClientError } from "./errors.js";
import type { LogThrottle } from "./log-throttle.js";
import type { Logger } from "./ports.js";
import { errorFrame } from "./protocol.js";

/**
 * Internal: how an instance reports failures: to `onPersistError`, and to the log at a rate
 * no client can raise.
 */
export class RoomFailures {
  constructor(
    private readonly def: RoomDefinition<any, any>,
    private readonly id: string,
    private readonly log: Logger,
    private readonly throttle: LogThrottle,
  ) {}

  /** A value could not be stored or read back, or a commit failed. */
  persist(key: string, error: CellarError): void {
    // A client can provoke these (a full instance, say): the log line is throttled; the
    // room's own hook hears of every one.
    this.logged(error, "persist error", key);
    const hook = this.def.options.onPersistError;
    if (!hook) return;
    try {
      hook.call(this.def.options, key, error);
    } catch (hookFailure) {
      this.log.error({ err: hookFailure, room: this.def.name, instance: this.id }, "onPersistError failed");
    }
  }

  /** A commit failed: `onPersistError` hears of each state key it held (or `"*"`). */
  commit(stateKeys: string[], error: unknown): void {
    const cause =
      error instanceof StorageLimitError ? error : cellarError("PERSIST_FAILED", `Commit failed: ${(error as Error)?.message ?? error}`, { cause: error });
    for (const key of stateKeys.length > 0 ? stateKeys : ["*"]) this.persist(key, cause);
  }

  /** `fields`: which connection and request, to follow the event (see docs/operations.md). */
  handler(error: unknown, event: string, fields?: object): void {
    if (error instanceof CellarError) return; // an answer the room chose to give, not a failure
    this.logged(error, "handler failed", event, fields);
  }

  /**
   * Logs a failure a client may provoke, at a bounded rate per room kind and message. The
   * key holds nothing a client chooses (such as the event name), or varying it would
   * defeat the bound.
   */
  logged(error: unknown, message: string, where = "", fields?: object): void {
    const { log: shouldLog, suppressed } = this.throttle.allow(`${this.def.name}:${message}`);
    if (!shouldLog) return;
    this.log.error({ err: error, room: this.def.name, instance: this.id, where, suppressed, ...fields }, message);
  }
}

/**
 * What the sender of a handler whose commit failed is told. A storage limit says which; any
 * other failure (SQLite's own message may name tables or paths) is the generic
 * PERSIST_FAILED, with the details in `onPersistError` and the log.
 */
export function commitFailure(error: unknown): ClientError {
  if (error instanceof StorageLimitError) return error.toJSON();
  return { code: "PERSIST_FAILED", message: "The change could not be saved; nothing was applied" };
}

/**
 * Refuses a connection: an error frame saying why, then a close. A `CellarError` the room
 * threw without a close code of its own closes with 4403; anything unexpected with 1011.
 */
export function refuse(connection: ConnectionRecord, error: unknown): void {
  const clientError = toClientError(error, "HOOK_ERROR", "The room refused the connection");
  const code = error instanceof CellarError ? (error.closeCode ?? CLOSE_CODES.FORBIDDEN) : CLOSE_CODES.INTERNAL_ERROR;
  connection.send(errorFrame(clientError));
  connection.port.close(code, clientError.code);
}
