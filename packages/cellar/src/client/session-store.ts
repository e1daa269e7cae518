import { CellarError } from "../core/errors.js";

/** What the client keeps to resume a session: the token and the last sequence number seen. */
export interface SessionRecord {
  token: string;
  lastSeq: number;
}

/** Where sessions are kept, by key (one per room URL). Calls are synchronous. */
export interface SessionStore {
  get(key: string): SessionRecord | undefined;
  set(key: string, record: SessionRecord): void;
  delete(key: string): void;
}

/**
 * A store in memory: clients given the same one share their sessions (a page reload in a
 * test, say). The `"memory"` option needs none: the client keeps its session itself.
 */
export function memoryStore(): SessionStore {
  const records = new Map<string, SessionRecord>();
  return {
    get: (key) => records.get(key),
    set: (key, record) => void records.set(key, record),
    delete: (key) => void records.delete(key),
  };
}

function parse(text: string | null | undefined): SessionRecord | undefined {
  if (!text) return undefined;
  try {
    const record = JSON.parse(text) as SessionRecord;
    return typeof record?.token === "string" && Number.isSafeInteger(record.lastSeq) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** `localStorage` when the page may use it. */
function localStorageStore(): SessionStore | undefined {
  try {
    const storage = (globalThis as { localStorage?: Storage }).localStorage;
    if (!storage) return undefined;
    // Blocked storage (privacy settings, sandboxed frames) throws on access or on write.
    const probe = "cellar:probe";
    storage.setItem(probe, "1");
    storage.removeItem(probe);
    return {
      get: (key) => parse(storage.getItem(key)),
      set: (key, record) => storage.setItem(key, JSON.stringify(record)),
      delete: (key) => storage.removeItem(key),
    };
  } catch {
    return undefined;
  }
}

/** A session cookie per room URL, for pages that cannot use `localStorage`. */
function cookieStore(): SessionStore | undefined {
  const doc = (globalThis as { document?: { cookie: string } }).document;
  if (!doc) return undefined;
  const name = (key: string) => `cellar_${encodeURIComponent(key).replace(/%/g, "_")}`;
  return {
    get(key) {
      const prefix = `${name(key)}=`;
      const entry = doc.cookie.split("; ").find((c) => c.startsWith(prefix));
      return entry ? parse(decodeURIComponent(entry.slice(prefix.length))) : undefined;
    },
    set(key, record) {
      doc.cookie = `${name(key)}=${encodeURIComponent(JSON.stringify(record))}; path=/; SameSite=Strict`;
    },
    delete(key) {
      doc.cookie = `${name(key)}=; path=/; max-age=0; SameSite=Strict`;
    },
  };
}

/**
 * The store a client option names. `"local"` is `localStorage`, or a cookie when storage is
 * blocked; `"memory"` (and `"local"` outside a browser) is none: the client object keeps
 * its session, a new one starts afresh. The default is `"local"` in a browser and
 * `"memory"` elsewhere.
 */
export function resolveSessionStore(option: "local" | "memory" | SessionStore | undefined): SessionStore | undefined {
  if (typeof option === "object" && option !== null) {
    if (typeof option.get !== "function" || typeof option.set !== "function" || typeof option.delete !== "function") {
      throw new CellarError("INVALID_OPTION", "sessionStore must be \"local\", \"memory\" or an object with get, set and delete");
    }
    return option;
  }
  const inBrowser = typeof (globalThis as { document?: unknown }).document !== "undefined";
  if (option === "memory" || (option === undefined && !inBrowser)) return undefined;
  if (option !== undefined && option !== "local") {
    throw new CellarError("INVALID_OPTION", "sessionStore must be \"local\", \"memory\" or an object with get, set and delete");
  }
  return localStorageStore() ?? cookieStore();
}
