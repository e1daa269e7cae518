/**
 * `cellar/client`: the client for browsers and Node.
 */
export { CellarClient } from "./client.js";
export type { ClientOptions, ClientState, RequestOptions, WebSocketConstructor, WebSocketLike } from "./client.js";
export { backoffDelay, RECONNECT_DEFAULTS, type ReconnectOptions } from "./backoff.js";
export { memoryStore, type SessionRecord, type SessionStore } from "./session-store.js";
export { CellarError } from "../core/errors.js";
