/**
 * What the app keeps in localStorage: the host's identity and a participant's way back into
 * a session. Reads tolerate a blocked or corrupt store (the app then works for this page only).
 */
import { isHostId, isHostKey } from "../../src/shared/validation.js";

const KEYS = {
  hostId: "sommelierArena:hostId",
  hostKey: "sommelierArena:hostKey",
  rejoin: "sommelierArena:rejoin",
} as const;

const FIRST = ["TANNIC", "OAKY", "VELVET", "CRISP", "JAMMY", "SMOKY", "BRIGHT", "SILKY", "BOLD", "FLINTY", "MINERAL", "RIPE", "DRY", "LUSH", "SPICY", "ZESTY", "EARTHY", "FLORAL", "GOLDEN", "RUBY", "AMBER", "NOBLE", "MELLOW", "ROBUST"];
const SECOND = ["FALCON", "OTTER", "HERON", "BADGER", "LYNX", "FOX", "OWL", "STAG", "HARE", "WREN", "BEAR", "CRANE", "MOLE", "ROBIN", "SWIFT", "VIPER", "MARTEN", "EAGLE", "BISON", "PIKE", "RAVEN", "TROUT", "GECKO", "IBEX"];

const memory = new Map<string, string>();

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return memory.get(key) ?? null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    if (value === null) memory.delete(key);
    else memory.set(key, value);
  }
}

function pick<T>(items: readonly T[]): T {
  const index = crypto.getRandomValues(new Uint32Array(1))[0]! % items.length;
  return items[index]!;
}

export function newHostId(): string {
  return `${pick(FIRST)}-${pick(SECOND)}`;
}

function newHostKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export interface HostIdentity {
  hostId: string;
  hostKey: string;
}

/** The host's id and key, created on first use. */
export function hostIdentity(): HostIdentity {
  let hostId = read(KEYS.hostId);
  let hostKey = read(KEYS.hostKey);
  if (!isHostId(hostId)) write(KEYS.hostId, (hostId = newHostId()));
  if (!isHostKey(hostKey)) write(KEYS.hostKey, (hostKey = newHostKey()));
  return { hostId, hostKey };
}

/** Replaces the host id (after the server said another key owns it); the key stays. */
export function renewHostId(): HostIdentity {
  let hostId = newHostId();
  const current = read(KEYS.hostId);
  while (hostId === current) hostId = newHostId();
  write(KEYS.hostId, hostId);
  return hostIdentity();
}

export interface RejoinRecord {
  rejoinToken: string;
  code: string;
  pseudonym: string;
}

export function loadRejoin(): RejoinRecord | null {
  const raw = read(KEYS.rejoin);
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<RejoinRecord>;
    if (typeof value.rejoinToken === "string" && typeof value.code === "string" && typeof value.pseudonym === "string") {
      return { rejoinToken: value.rejoinToken, code: value.code, pseudonym: value.pseudonym };
    }
  } catch {
    // Corrupt: treated as absent and overwritten by the next join.
  }
  return null;
}

export function saveRejoin(record: RejoinRecord): void {
  write(KEYS.rejoin, JSON.stringify(record));
}

/** Clears the stored rejoin, only if it is still the one for `code` (another session's stays). */
export function clearRejoin(code: string): void {
  const current = loadRejoin();
  if (current !== null && current.code !== code) return;
  write(KEYS.rejoin, null);
}
