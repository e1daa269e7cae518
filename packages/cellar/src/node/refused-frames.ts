/**
 * Internal: frames refused before they reached a room, counted for `server.stats()` (bad and
 * rate) and for metrics (by the error code the sender got). Never logged one by one: an
 * attacker would choose the rate.
 */
export class RefusedFrames {
  /** Malformed or hostile frames (every code but RATE_LIMITED). */
  refusedBad = 0;
  refusedRate = 0;
  /** Keys are codes of Cellar's catalog, so the map stays small whatever clients send. */
  readonly byCode = new Map<string, number>();

  add(code: string): void {
    if (code === "RATE_LIMITED") this.refusedRate++;
    else this.refusedBad++;
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  }
}

/**
 * The code a frame that `ws` refused maps to: it reports protocol errors with a WS_ERR_*
 * code and closes the socket itself (1009 for an oversized frame, 1007 or 1002 for the rest).
 */
export function wsRefusalCode(wsCode: string): string {
  return wsCode === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? "PAYLOAD_TOO_LARGE" : "BAD_FRAME";
}
