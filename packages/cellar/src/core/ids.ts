/**
 * Random identifiers from the platform CSPRNG (Web Crypto, present in Node, workerd and
 * browsers). `randomToken()` gives 128 bits by default: enough for secrets.
 */
export function randomToken(bytes = 16): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  let binary = "";
  for (const byte of buffer) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
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
