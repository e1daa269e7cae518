import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startServerProcess, tempDataDir, type ServerProcess } from "cellar/testing";
import { RawSocket, upgradeAnswer } from "./helpers/raw-socket.js";

const script = fileURLToPath(new URL("./fixtures/shutdown-server.ts", import.meta.url));
let processes: ServerProcess[] = [];
afterEach(async () => {
  for (const p of processes) await p.kill("SIGKILL");
  processes = [];
});

async function boot(env: Record<string, string> = {}): Promise<ServerProcess> {
  const p = await startServerProcess({ script, env: { DATA_DIR: tempDataDir(), ...env }, execArgv: ["--conditions=source", "--import", "tsx"] });
  processes.push(p);
  return p;
}

describe("graceful shutdown, edge cases", () => {
  it("a client that does not answer the close handshake does not crash the shutdown (DB closed before its close event)", async () => {
    const server = await boot();
    const ws = (await RawSocket.connect(server.roomUrl("bye", "b"))).ws;
    (ws as unknown as { _socket: { pause(): void } })._socket.pause(); // a stalled peer
    server.child.kill("SIGTERM");
    const exit = await server.exited;
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(server.output()).not.toMatch(/error/i);
  });

  it("a handler still running at shutdownTimeoutMs does not crash the process when it finishes", async () => {
    const server = await boot({ SHUTDOWN_MS: "200" });
    const socket = await RawSocket.connect(server.roomUrl("slow", "s"));
    socket.send({ t: "req", id: 1, event: "slow", data: 1500 });
    await new Promise((r) => setTimeout(r, 50));
    server.child.kill("SIGTERM");
    const exit = await server.exited;
    expect(exit.code, server.output()).toBe(0);
  });

  it("a second SIGTERM during shutdown exits at once, without waiting for running handlers", async () => {
    const server = await boot({ SHUTDOWN_MS: "60000" });
    const socket = await RawSocket.connect(server.roomUrl("slow", "s"));
    socket.send({ t: "req", id: 1, event: "slow", data: 60_000 });
    server.child.kill("SIGTERM");
    // Shutdown has begun once new sockets are refused: a 503, or no listener at all.
    const url = server.roomUrl("slow", "other");
    const answer = () => upgradeAnswer(url).then((a) => a.status, () => "refused");
    await vi.waitFor(async () => expect([503, "refused"]).toContain(await answer()), { timeout: 5000, interval: 20 });
    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 130, signal: null });
  });
});

