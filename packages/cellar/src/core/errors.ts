import { ERROR_CODES, type CellarErrorCode } from "./error-codes.js";

/** What a client receives for an error: never a stack. */
export interface ClientError {
  code: string;
  message: string;
}

export interface CellarErrorOptions {
  /** WebSocket close code when the error ends a connection (defaults from the catalog). */
  closeCode?: number;
  cause?: unknown;
}

/**
 * The one error type of Cellar. `code` is a stable string (see `docs/errors.md`); apps may
 * throw it with codes of their own, and the client receives `{ code, message }`.
 *
 * @example
 * throw new CellarError("NOT_HOST", "Only the host can start the game");
 */
export class CellarError extends Error {
  override name = "CellarError";
  readonly code: string;
  readonly closeCode: number | undefined;

  constructor(code: string, message: string, options: CellarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    const known = (ERROR_CODES as Record<string, { closeCode?: number }>)[code];
    this.closeCode = options.closeCode ?? known?.closeCode;
  }

  toJSON(): ClientError {
    return { code: this.code, message: this.message };
  }
}

/** A persisted state value could not be stored, or stored data could not be read back. */
export class PersistError extends CellarError {
  override name = "PersistError";
  /** The state key (or storage key) concerned. */
  readonly key: string;

  constructor(key: string, message: string, options: CellarErrorOptions = {}) {
    super("PERSIST_ERROR", message, options);
    this.key = key;
  }
}

/** Names of the storage limits, identical on every host. */
export type StorageLimitName = "KEY_SIZE" | "VALUE_SIZE" | "BATCH_SIZE" | "LIST_LIMIT" | "INSTANCE_SIZE" | "KV_KEY_SIZE" | "KV_VALUE_SIZE";

/** A storage call exceeded one of the limits in `docs/api.md#limits`. */
export class StorageLimitError extends CellarError {
  override name = "StorageLimitError";
  readonly limit: StorageLimitName;

  constructor(limit: StorageLimitName, message: string) {
    super("STORAGE_LIMIT", `${limit}: ${message}`);
    this.limit = limit;
  }
}

/** Makes an error with a code from Cellar's own catalog. */
export function cellarError(code: CellarErrorCode, message: string, options?: CellarErrorOptions): CellarError {
  return new CellarError(code, message, options);
}

/**
 * What a client may see of any thrown value: a `CellarError` as it is, anything else as a
 * generic code whose details stay in the server log.
 */
export function toClientError(error: unknown, fallbackCode: CellarErrorCode, fallbackMessage: string): ClientError {
  if (!(error instanceof CellarError)) return { code: fallbackCode, message: fallbackMessage };
  // These wrap a server-side failure whose message may hold internals (table names, paths):
  // clients get the gist, the room's code and the log keep the detail.
  if (error.code === "HOOK_ERROR" || error.code === "INTERNAL_ERROR" || error.code === "SQL_ERROR") {
    return { code: error.code, message: ERROR_CODES[error.code].description };
  }
  return { code: error.code, message: error.message };
}

/** Wraps a failure of a user hook so logs say which hook failed. */
export function hookError(hook: string, cause: unknown): CellarError {
  if (cause instanceof CellarError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CellarError("HOOK_ERROR", `${hook} failed: ${reason}`, { cause });
}
