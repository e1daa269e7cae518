/*
 * Internal: who may use the inspector. Scripts send the token as `Authorization: Bearer`;
 * the page sends it once (`POST <path>/api/login`) and gets a cookie: HttpOnly (a script
 * injected into the page cannot read it), SameSite=Strict, scoped to the inspector's path,
 * and carried by EventSource, which cannot set headers. The cookie is stateless: an expiry
 * and an HMAC of it keyed by the token, so changing the token ends every page's login.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { originAllowed } from "../../core/router.js";

export const COOKIE = "cellar_inspector";
/** A page's login lasts this long. */
export const LOGIN_MS = 8 * 60 * 60 * 1000;

export class InspectorAuth {
  readonly #tokenDigest: Buffer;
  readonly #cookieKey: Buffer;

  constructor(token: string) {
    this.#tokenDigest = sha256(token);
    // A key of its own for cookies, so that a cookie is no function of the token alone.
    this.#cookieKey = createHmac("sha256", token).update("cellar-inspector-cookie").digest();
  }

  /** Whether `given` is the token; constant time (SHA-256 first, so lengths do not show). */
  tokenMatches(given: string): boolean {
    return timingSafeEqual(sha256(given), this.#tokenDigest);
  }

  /** A bearer token or a valid login cookie. */
  allowed(request: IncomingMessage, now: number): boolean {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer (.+)$/i.exec(header);
      return match !== null && this.tokenMatches(match[1]!.trim());
    }
    const cookie = readCookie(request.headers.cookie, COOKIE);
    return cookie !== undefined && this.#cookieValid(cookie, now);
  }

  /** The cookie value of a login made at `now`. */
  cookieValue(now: number): string {
    const expires = String(now + LOGIN_MS);
    return `${expires}.${this.#mac(expires).toString("base64url")}`;
  }

  #cookieValid(value: string, now: number): boolean {
    const dot = value.indexOf(".");
    const expires = value.slice(0, dot);
    if (dot < 1 || !/^\d{1,16}$/.test(expires) || Number(expires) <= now) return false;
    const given = Buffer.from(value.slice(dot + 1), "base64url");
    const expected = this.#mac(expires);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #mac(expires: string): Buffer {
    return createHmac("sha256", this.#cookieKey).update(expires).digest();
  }
}

/**
 * Same-origin only: a browser request from another origin (its `Origin`, or
 * `Sec-Fetch-Site` when only that is sent) is refused. Requests without either come from
 * scripts and command-line tools, which the token alone admits. Behind a reverse proxy the
 * `Host` header must reach the server unchanged.
 */
export function sameOrigin(request: IncomingMessage): boolean {
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return false;
  return originAllowed(request.headers.origin, request.headers.host, undefined);
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
