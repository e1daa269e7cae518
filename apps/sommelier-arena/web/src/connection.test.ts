import { describe, expect, it } from "vitest";
import { isLoopbackHost, shareOrigin } from "./api.js";
import { connectionOf } from "./room.js";

describe("connectionOf", () => {
  it("says Connecting until the client was open once, then Reconnecting", () => {
    expect(connectionOf("connecting", true, false)).toBe("connecting");
    // Cellar's first failed attempt already reports "reconnecting": nothing was lost yet.
    expect(connectionOf("reconnecting", true, false)).toBe("connecting");
    expect(connectionOf("open", true, false)).toBe("live");
    expect(connectionOf("reconnecting", true, true)).toBe("reconnecting");
    expect(connectionOf("connecting", true, true)).toBe("reconnecting");
  });

  it("puts closed before offline, and offline before the rest", () => {
    expect(connectionOf("closed", false, false)).toBe("closed");
    expect(connectionOf("reconnecting", false, false)).toBe("offline");
    expect(connectionOf("open", false, true)).toBe("offline");
  });
});

describe("shareOrigin", () => {
  const lan = ["http://192.168.1.20:8787", "http://10.0.0.5:8787"];

  it("knows the loopback names", () => {
    for (const name of ["localhost", "LOCALHOST", "app.localhost", "127.0.0.1", "127.1.2.3", "[::1]", "::1"]) expect(isLoopbackHost(name), name).toBe(true);
    for (const name of ["192.168.1.20", "example.com", "localhost.example.com", "127.example.com", "[::2]"]) expect(isLoopbackHost(name), name).toBe(false);
  });

  it("gives guests the first network origin from a loopback page", () => {
    expect(shareOrigin({ origin: "http://localhost:8787", hostname: "localhost" }, lan)).toEqual({ origin: lan[0], unreachable: false });
    expect(shareOrigin({ origin: "http://[::1]:8787", hostname: "[::1]" }, lan)).toEqual({ origin: lan[0], unreachable: false });
  });

  it("keeps a loopback origin, flagged, when the server has no network origin", () => {
    expect(shareOrigin({ origin: "http://127.0.0.1:8787", hostname: "127.0.0.1" }, [])).toEqual({ origin: "http://127.0.0.1:8787", unreachable: true });
    // Config not known yet: no hint.
    expect(shareOrigin({ origin: "http://127.0.0.1:8787", hostname: "127.0.0.1" }, undefined)).toEqual({ origin: "http://127.0.0.1:8787", unreachable: false });
  });

  it("keeps a network page's own origin", () => {
    expect(shareOrigin({ origin: "https://arena.example.com", hostname: "arena.example.com" }, lan)).toEqual({ origin: "https://arena.example.com", unreachable: false });
    expect(shareOrigin({ origin: "http://192.168.1.30:8787", hostname: "192.168.1.30" }, [])).toEqual({ origin: "http://192.168.1.30:8787", unreachable: false });
  });
});
