/**
 * `cellar/client`: the client for browsers and Node.
 */
export { CellarClient } from "./client.js";
export type { ClientOptions, ClientState, RequestOptions, WebSocketConstructor, WebSocketLike } from "./client.js";
export { CellarError } from "../core/errors.js";
