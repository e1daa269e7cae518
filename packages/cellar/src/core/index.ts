/**
 * `cellar`: the runtime-agnostic core. Define rooms here; run them with a host
 * (`cellar/node`, or `cellar/cloudflare`).
 */
export { defineRoom, defineConnection, RoomDefinition } from "./define-room.js";
export type {
  AuthContext,
  AuthResult,
  ConnectContext,
  ConnectionContext,
  ConnectionDefinition,
  ConnectionOptions,
  DisconnectContext,
  EventContext,
  EventHandler,
  RoomContext,
  RoomInfo,
  RoomOptions,
  RoomAction,
  RoomAccess,
} from "./define-room.js";
export { CellarError, PersistError, StorageLimitError } from "./errors.js";
export type { ClientError, CellarErrorOptions, StorageLimitName } from "./errors.js";
export { ERROR_CODES, CLOSE_CODES } from "./error-codes.js";
export type { CellarErrorCode } from "./error-codes.js";
export { randomToken, sha256, constantTimeEqual } from "./ids.js";
export { PROTOCOL_VERSION } from "./protocol.js";
export type { ClientFrame, ServerFrame } from "./protocol.js";
export { STORAGE_LIMITS, KV_LIMITS } from "./limits.js";
export type { StorageLimits } from "./limits.js";
export type { Connection, ConnectionInfo } from "./connection.js";
export type { Emitter, EmitTarget, EmitOptions, BroadcastOptions } from "./emitter.js";
export type { Storage, StorageTransaction, ListOptions } from "./storage-api.js";
export { SqlCursor } from "./sql-api.js";
export type { SqlStorage, SqlValue } from "./sql-api.js";
export type { KvNamespace, KvPutOptions, KvListResult, KvListKey, KvValueType } from "./kv-api.js";
export type { Schedule, Alarm } from "./schedule-api.js";
export type { PersistOptions } from "./state-tracker.js";
export type { Schema } from "./schema.js";
