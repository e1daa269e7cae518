import type { IncomingMessage } from "node:http";
import { randomToken } from "../core/ids.js";
import { REQUEST_ID_HEADER } from "../core/ports.js";

/** What an `x-request-id` set by a proxy may look like to be kept (it ends up in log lines). */
const SANE_ID = /^[\w.:-]{1,128}$/;

/**
 * Internal: ids for the requests a server takes (upgrades, metrics scrapes), so that the log
 * lines of one connection can be found together. A sane `x-request-id` (a proxy's) is kept;
 * otherwise the request gets `<random prefix>-<counter>`, written into its headers, where
 * the Web Request given to `authenticate` and the core's log lines find it.
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
