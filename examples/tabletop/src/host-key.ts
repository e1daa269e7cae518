/*
 * The host key: 256 random bits made when a table is created and shown once to its creator.
 * The table stores only its SHA-256, so a copy of the data directory does not hand out the
 * key. Cellar's secrets helpers use Web Crypto only, so the room runs on any Cellar host.
 */
import { constantTimeEqual, randomToken, sha256 } from "cellar";

/** A new host key: 32 random bytes, base64url (43 characters). */
export const newHostKey = (): string => randomToken(32);

/** A new table id: 12 random bytes, base64url. Not a secret: it is the players' link. */
export const newTableId = (): string => randomToken(12);

export const hashHostKey = (key: string): Promise<string> => sha256(key);

/** Whether `key` is the one whose hash is `storedHash`, compared in constant time. */
export async function hostKeyMatches(key: string, storedHash: string): Promise<boolean> {
  return constantTimeEqual(await sha256(key), storedHash);
}
