/*
 * Secrets of a session: host keys are made by the host's browser, rejoin tokens here. Only
 * Web Crypto, so the room runs on any Cellar host.
 */

/** `bytes` random bytes from the platform CSPRNG, base64url without padding. */
export function randomToken(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  let binary = "";
  for (const byte of buffer) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** SHA-256 of `text`, as 64 hex digits: what is stored instead of a host key. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether `key` hashes to `storedHash`. Digests of equal length are compared with every
 * character looked at, so the time taken does not depend on how much of a guess was right.
 */
export async function matchesHash(key: string, storedHash: string): Promise<boolean> {
  const given = await sha256Hex(key);
  let difference = given.length ^ storedHash.length;
  for (let i = 0; i < given.length; i++) difference |= given.charCodeAt(i) ^ (storedHash.charCodeAt(i) || 0);
  return difference === 0;
}
