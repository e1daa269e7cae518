import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage, RequestListener } from "node:http";
import { randomToken } from "../core/ids.js";
import { REQUEST_ID_HEADER } from "../core/ports.js";

/** What an `x-request-id` set by a proxy may look like to be kept (it ends up in log lines). */
const SANE_ID = /^[\w.:-]{1,128}$/;

/**
 * Internal: ids for the requests a server takes (upgrades, the app's HTTP requests, metrics
 * scrapes), so that the log lines of one request can be found together. A sane
 * `x-request-id` (a proxy's) is kept; otherwise the request gets `<random prefix>-<counter>`,
 * written into its headers, where the Web Request given to `authenticate` or to the app and
 * the core's log lines find it.
 */
export function createRequestIds(): (request: IncomingMessage) => string {
  const prefix = randomToken(6);
  let next = 0;
  return (request) => {
    const given = request.headers[REQUEST_ID_HEADER];
    if (typeof given === "string" && SANE_ID.test(given)) return given;
    const id = `${prefix}-${(++next).toString(36)}`;
    request.headers[REQUEST_ID_HEADER] = id;
    return id;
  };
}

/** The id of the app's HTTP request whose handling is running now (see `withRequestIds`). */
const current = new AsyncLocalStorage<string>();

/**
 * The app's listener with request ids: each request gets one (see `createRequestIds`), the
 * response carries it back in `x-request-id`, and what the app calls while handling it
 * (`server.call`, say) finds it through `currentRequestId()` for its log lines.
 */
export function withRequestIds(listener: RequestListener, requestId: (request: IncomingMessage) => string): RequestListener {
  return (request, response) => {
    const id = requestId(request);
    response.setHeader(REQUEST_ID_HEADER, id);
    current.run(id, listener, request, response);
  };
}

export function currentRequestId(): string | undefined {
  return current.getStore();
}
