import { describe, expect, it } from "vitest";
import { randomToken, sha256 } from "../../core/ids.js";
import { MASK, maskSecrets, secretName } from "./redact.js";

describe("what the inspector leaves out", () => {
  it("fields named like credentials", () => {
    for (const name of ["token", "rejoinToken", "resume_token", "secret", "clientSecret", "hostKeyHash", "password", "passwd", "apiKey", "api_key", "privateKey", "hostKey", "signing-key", "salt", "Authorization"]) {
      expect(secretName(name), name).toBe(true);
    }
    for (const name of ["key", "count", "players", "monkey", "turkey", "keys", "author", "sessionId"]) {
      expect(secretName(name), name).toBe(false);
    }
  });

  it("masks strings that look like tokens or hashes, wherever they are in a string", async () => {
    const samples = ["Zk3pQ9wX2mV7tY4rB8nL1sD6fG0hJ5cA", "lO8pddXkTWbukq-pku---w", "ddMhPAhhkM_2ba_ihoEpdbnfAf4aapvu", "Zm9vYmFyYmF6cXV4cXV1eDEyMw==", await sha256("x")];
    for (const sample of samples) expect(maskSecrets(sample), sample).toBe(MASK);
    expect(maskSecrets("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")).toBe(MASK);
    expect(maskSecrets("participant:lO8pddXkTWbukq-pku---w")).toBe(`participant:${MASK}`);
    expect(maskSecrets(`Bearer ${samples[0]} and more`)).toBe(`Bearer ${MASK} and more`);
  });

  it("lets through fewer than 1 random token in 1,000 (a second line: names are the first)", async () => {
    let escaped = 0;
    for (let i = 0; i < 2000; i++) {
      for (const bytes of [16, 24, 32]) if (maskSecrets(randomToken(bytes)) !== MASK) escaped++;
      if (maskSecrets(await sha256(String(i))) !== MASK) escaped++;
    }
    expect(escaped).toBeLessThan(8);
  });

  it("leaves words, identifiers, numbers and short ids alone", () => {
    for (const text of [
      "hello world",
      "participantConnectedAtTimestamp",
      "a_rather_long_snake_case_identifier",
      "UNKNOWN_REJOIN_TOKEN_FOR_THIS_SESSION",
      "123e4567-e89b-12d3-a456-426614174000",
      "12345678901234567890123",
      "/rooms/counter/main/and/a/long/path",
      "2024-02-29T12:34:56.789Z",
      randomToken(12),
    ]) {
      expect(maskSecrets(text), text).toBe(text);
    }
  });
});
