import { WebSocket } from "ws";
import { CellarClient, type ClientOptions, type WebSocketConstructor } from "../client/client.js";

/** A `CellarClient` for Node tests: `ws` as its WebSocket unless `options` give another. */
export function nodeClient(url: string, options: ClientOptions = {}): CellarClient {
  return new CellarClient(url, { WebSocket: WebSocket as unknown as WebSocketConstructor, ...options });
}
