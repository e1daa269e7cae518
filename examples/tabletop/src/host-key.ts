/*
 * The host key: 256 random bits made when a table is created and shown once to its creator.
 * The table stores only its SHA-256, so a copy of the data directory does not hand out the
 * key. Web Crypto only (no `node:crypto`), so the room runs on any Cellar host.
 */

/** A new host key: 32 random bytes, base64url (43 characters). */
export function newHostKey(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** A new table id: 12 random bytes, base64url. Not a secret: it is the players' link. */
export function newTableId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(12)));
}

export async function hashHostKey(key: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key))));
}

/**
 * Whether `key` is the one whose hash is `storedHash`. Both sides are compared as digests of
 * equal length with every byte looked at, so the time taken says nothing about how much of a
 * guess was right.
 */
export async function hostKeyMatches(key: string, storedHash: string): Promise<boolean> {
  const given = await hashHostKey(key);
  if (given.length !== storedHash.length) return false;
  let difference = 0;
  for (let i = 0; i < given.length; i++) difference |= given.charCodeAt(i) ^ storedHash.charCodeAt(i);
  return difference === 0;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
