/**
 * The host index, KV namespace `HOSTS`: `host:<hostId>` → the host's sessions, newest first
 * (`HostIndexEntry[]`), and `auth:<hostId>` → the SHA-256 of the host key that first used the
 * id (a host id belongs to one key).
 *
 * Session rooms write their own entry when the session is created, starts and ends. Two
 * rooms of one host writing at the same moment could each write the array without the
 * other's change (KV is last-write-wins, as on Cloudflare); the dashboard endpoint heals
 * that by asking the rooms of entries not yet ended for their current entry.
 */
import { constantTimeEqual, sha256, type KvNamespace } from "cellar";
import type { HostIndexEntry } from "../shared/protocol.js";

export const HOSTS = "HOSTS";
/** Entries kept per host; the oldest go first. */
export const MAX_ENTRIES = 100;

export const indexKey = (hostId: string) => `host:${hostId}`;
export const authKey = (hostId: string) => `auth:${hostId}`;

export async function readIndex(kv: KvNamespace, hostId: string): Promise<HostIndexEntry[]> {
  return (await kv.get<HostIndexEntry[]>(indexKey(hostId), "json")) ?? [];
}

/** Writes `entry` in place of the one for the same session (code and creation time), or adds it. */
export async function upsertEntry(kv: KvNamespace, hostId: string, entry: HostIndexEntry): Promise<void> {
  const entries = await readIndex(kv, hostId);
  await kv.put(indexKey(hostId), JSON.stringify(withEntry(entries, entry)));
}

export function withEntry(entries: HostIndexEntry[], entry: HostIndexEntry): HostIndexEntry[] {
  const others = entries.filter((e) => !(e.code === entry.code && e.createdAt === entry.createdAt));
  return [entry, ...others].sort((a, b) => b.createdAt - a.createdAt).slice(0, MAX_ENTRIES);
}

/** Whether `key` is the host key whose SHA-256 is `storedHash` (compared in constant time; keys are never stored). */
export async function hostKeyMatches(key: string, storedHash: string): Promise<boolean> {
  return constantTimeEqual(await sha256(key), storedHash);
}
