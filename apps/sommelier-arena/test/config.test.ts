import { networkInterfaces } from "node:os";
import { afterEach, expect, test } from "vitest";
import type { ServerConfig } from "../src/shared/protocol.js";
import { startArena, type Arena } from "./helpers.js";

// GET /api/config tells the web app the timer's lower bound and, when the server listens on
// every interface, the addresses phones on the network can open (for the join link and QR code).

let arena: Arena | undefined;
afterEach(() => arena?.close());

const config = async (origin: string): Promise<ServerConfig> => (await fetch(`${origin}/api/config`)).json();

test("on loopback it offers no network address, and says the lowest timer", async () => {
  arena = await startArena({ minTimerSeconds: 5 });
  expect(await config(arena.url)).toEqual({ minTimerSeconds: 5, lanOrigins: [] });
});

test("on every interface it lists addresses at which the server answers", async () => {
  arena = await startArena({ host: "0.0.0.0" });
  const { minTimerSeconds, lanOrigins } = await config(arena.url.replace("0.0.0.0", "127.0.0.1"));
  expect(minTimerSeconds).toBe(15);
  const external = Object.values(networkInterfaces()).flat().filter((a) => a?.family === "IPv4" && !a.internal);
  expect(lanOrigins).toHaveLength(external.length);
  for (const origin of lanOrigins) {
    expect(origin).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:\d+$/);
    expect(await config(origin)).toEqual({ minTimerSeconds: 15, lanOrigins });
  }
});
