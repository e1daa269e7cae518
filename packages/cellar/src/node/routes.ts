import type { IncomingMessage } from "node:http";
import { originAllowed, REMOTE_ADDRESS_HEADER } from "../core/router.js";

export { Router, validInstanceId, roomUrl, MAX_INSTANCE_ID_LENGTH, REMOTE_ADDRESS_HEADER } from "../core/router.js";

/**
 * A request target made only of characters the URL parser keeps as they are (no dot
 * segments, plain or percent-encoded, no backslashes, spaces or non-ASCII, no `//`
 * authority) up to its query.
 */
const PLAIN_PATH = /^(\/(?!\/)[\w\-~!$&'()*+,;=:@/]*)(?:\?|$)/;

/**
 * The path of an upgrade's request target, as `new URL(target, base).pathname` gives it: on
 * the connect path, so a plain target (every Cellar room URL without dots in its id) is cut
 * at its query instead of parsed; anything else goes through the URL parser.
 */
export function upgradePath(target = "/"): string {
  return PLAIN_PATH.exec(target)?.[1] ?? new URL(target, "http://localhost").pathname;
}

/** Whether an upgrade's Origin is allowed (see `originAllowed` in the core). */
export function upgradeOriginAllowed(request: IncomingMessage, allowed: readonly string[] | "*" | undefined): boolean {
  return originAllowed(request.headers.origin, request.headers.host, allowed);
}

/**
 * The upgrade request as a Web `Request`, for `authenticate`, with the client's IP address
 * in the `cellar-remote-address` header (the address of the TCP peer: behind a reverse proxy,
 * the proxy's).
 */
export function toWebRequest(request: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === REMOTE_ADDRESS_HEADER) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  if (request.socket.remoteAddress) headers.set(REMOTE_ADDRESS_HEADER, request.socket.remoteAddress);
  return new Request(`http://${request.headers.host ?? "localhost"}${request.url ?? "/"}`, { headers });
}
