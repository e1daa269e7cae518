/*
 * Internal: what the inspector never shows. Cellar's own secrets (resume-token hashes, the
 * SQL redo records that carry them) are never even read; this file is the second line, for
 * the rooms' data: fields named like credentials are left out, and strings that look like
 * tokens or hashes are masked wherever they appear (values, keys, SQL cells, frames).
 */

/** Names of fields, storage keys, columns and tables whose values are left out. */
const SECRET_WORDS = /token|secret|hash|passw|credential|api.?key|private.?key|signature|salt|cookie|^authorization$/i;
/** `hostKey`, `signingKey`, `api_key`: a compound ending in "key" names a key (`key` alone does not). */
const KEY_COMPOUND = /[a-z0-9]Key$|[_-]key$/;

/** Whether a field, key, column or table named `name` holds something that must not be shown. */
export function secretName(name: string): boolean {
  return SECRET_WORDS.test(name) || KEY_COMPOUND.test(name);
}

/** What a masked run of characters is replaced with. */
export const MASK = "‹redacted›";

/** Runs of base64, base64url or hex characters long enough to be a token (16 random bytes are 22 characters). */
const RUN = /[A-Za-z0-9+/_-]{20,}={0,2}/g;
const HEX = /^[0-9a-f]{32,}$/i;

/**
 * Whether a run looks random. Hex of 128 bits or more, with digits and letters, does.
 * Otherwise two measures, both near 1 for random base64 and near 0.6 and 0.2 for words and
 * identifiers, are added up: how many distinct characters it has, against what random
 * base64 of its length would have (`64 · (1 − (63/64)^n)`), and how often the next
 * character changes class (lower case, upper case, digit, other). Measured on random
 * tokens of 15 to 32 bytes, fewer than 1 in 100,000 score under 1; camelCase and
 * snake_case identifiers score about 0.8 to 1.1, so a few long ones that mix cases and
 * digits are masked too, as are random-looking ids (alarm ids): better an id hidden than a
 * token shown.
 */
function looksRandom(run: string): boolean {
  const upper = /[A-Z]/.test(run);
  const lower = /[a-z]/.test(run);
  const digit = /[0-9]/.test(run);
  if (HEX.test(run)) return digit && (upper || lower);
  if (Number(upper) + Number(lower) + Number(digit) < 2) return false;
  let changes = 0;
  for (let i = 1; i < run.length; i++) if (classOf(run[i]!) !== classOf(run[i - 1]!)) changes++;
  const distinct = new Set(run).size / (64 * (1 - (63 / 64) ** run.length));
  return distinct + changes / (run.length - 1) >= 1;
}

function classOf(c: string): number {
  if (c >= "a" && c <= "z") return 0;
  if (c >= "A" && c <= "Z") return 1;
  return c >= "0" && c <= "9" ? 2 : 3;
}

/** `text` with every token- or hash-looking run replaced by MASK. */
export function maskSecrets(text: string): string {
  return text.replace(RUN, (run) => (looksRandom(run) ? MASK : run));
}
