import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;

/**
 * Internal: random tokens (connection ids, resume secrets) cut from a buffer that the CSPRNG
 * fills 4 KiB at a time. A call into the CSPRNG costs a few µs whatever its size, and every
 * connect took two; Node's own `crypto.randomUUID()` keeps such a pool for the same reason.
 * Bytes are zeroed once handed out, so the buffer holds only tokens not yet made.
 */
export class TokenPool {
  readonly #pool = Buffer.alloc(POOL_BYTES);
  #at = POOL_BYTES;

  /** `bytes` random bytes, base64url (as the core's `randomToken`). */
  token(bytes = 16): string {
    if (this.#at + bytes > POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    const end = this.#at + bytes;
    const text = this.#pool.toString("base64url", this.#at, end);
    this.#pool.fill(0, this.#at, end);
    this.#at = end;
    return text;
  }
}
