/**
 * Random identifiers from the platform CSPRNG (Web Crypto, present in Node, workerd and
 * browsers). `randomToken()` gives 128 bits by default: enough for secrets.
 */
export function randomToken(bytes = 16): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Ids that sort in creation order (time, then a counter), with a random tail so ids from
 * two processes never collide. Used for alarms, so alarms due at the same moment fire in
 * the order they were scheduled.
 */
export function createIdSource(now: () => number): () => string {
  let last = 0;
  let counter = 0;
  return () => {
    const time = now();
    counter = time === last ? counter + 1 : 0;
    last = time;
    return `${time.toString(36).padStart(9, "0")}${counter.toString(36).padStart(4, "0")}-${randomToken(6)}`;
  };
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** SHA-256 of a string, base64url: how resume secrets are stored. */
export async function sha256(text: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i % (b.length || 1));
  return diff === 0;
}
