import { createHash } from "node:crypto";
import { chmodSync, renameSync, rmSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { isAbsolute, join, resolve } from "node:path";
import { CellarError, cellarError, type ClientError } from "../core/errors.js";
import type { Logger } from "../core/ports.js";

/*
 * Internal: the admin socket, how `cellar backup` reaches the server running on a data
 * directory (whose exclusive lock keeps every other process out of cellar.db). A Unix socket
 * at `<dataDir>/cellar.sock`, mode 0600: only this OS user (and root) can connect; on Windows
 * a named pipe named after the data directory's path. One request per connection, one JSON
 * line each way.
 */

export type AdminRequest = { op: "ping" } | { op: "backup"; dest: string; timeoutMs?: number };
export type AdminAnswer = { ok: true; result: unknown } | { ok: false; error: ClientError };

const MAX_REQUEST_BYTES = 64 * 1024;
/** The longest Unix socket path every platform takes (macOS: 104 bytes with the terminator). */
const MAX_SOCKET_PATH = 103;

export function adminSocketPath(dataDir: string): string {
  if (process.platform === "win32") {
    const hash = createHash("sha256").update(resolve(dataDir).toLowerCase()).digest("hex").slice(0, 32);
    return `\\\\.\\pipe\\cellar-${hash}`;
  }
  return join(dataDir, "cellar.sock");
}

export interface AdminSocket {
  /** Stops accepting and removes the socket file; requests already read are still answered. */
  close(): void;
}

/**
 * Listens on the data directory's admin socket; undefined (with a warning) when it cannot,
 * since a server without one still serves, only `cellar backup` cannot reach it.
 */
export async function openAdminSocket(dataDir: string, handle: (request: AdminRequest) => Promise<unknown>, log: Logger): Promise<AdminSocket | undefined> {
  const path = adminSocketPath(dataDir);
  const windows = process.platform === "win32";
  const bound = windows ? path : join(dataDir, `.cellar-${process.pid}.sock`);
  if (!windows && Buffer.byteLength(bound) > MAX_SOCKET_PATH) {
    log.warn({ path }, "admin socket not opened; the data directory's path is too long for a Unix socket, so `cellar backup` cannot reach this server");
    return undefined;
  }
  const server = createServer((socket) => serve(socket, handle, log));
  try {
    if (!windows) {
      // This server holds cellar.db's exclusive lock: a socket file here is a dead server's.
      rmSync(path, { force: true });
      rmSync(bound, { force: true });
    }
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(bound, () => {
        server.off("error", fail);
        done();
      });
    });
    if (!windows) {
      // Bound under another name and closed to other users before it takes the name clients
      // connect to: there is no moment when another user could connect.
      chmodSync(bound, 0o600);
      renameSync(bound, path);
    }
  } catch (error) {
    server.close();
    log.warn({ err: error, path }, "admin socket not opened; `cellar backup` cannot reach this server");
    return undefined;
  }
  server.on("error", (error) => log.warn({ err: error }, "admin socket failed"));
  return {
    close() {
      server.close();
      if (!windows) rmSync(path, { force: true });
    },
  };
}

function serve(socket: Socket, handle: (request: AdminRequest) => Promise<unknown>, log: Logger): void {
  let text = "";
  socket.setEncoding("utf8");
  socket.on("error", () => socket.destroy());
  const onData = (chunk: string) => {
    text += chunk;
    const end = text.indexOf("\n");
    if (end < 0) {
      if (text.length > MAX_REQUEST_BYTES) socket.destroy();
      return;
    }
    socket.off("data", onData);
    void answer(text.slice(0, end), handle, log).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
  };
  socket.on("data", onData);
}

async function answer(line: string, handle: (request: AdminRequest) => Promise<unknown>, log: Logger): Promise<AdminAnswer> {
  try {
    return { ok: true, result: await handle(parseRequest(line)) };
  } catch (error) {
    if (error instanceof CellarError) return { ok: false, error: error.toJSON() };
    log.error({ err: error }, "admin request failed");
    return { ok: false, error: { code: "INTERNAL_ERROR", message: "The admin request failed; details are in the server log" } };
  }
}

function parseRequest(line: string): AdminRequest {
  let request: Partial<{ op: unknown; dest: unknown; timeoutMs: unknown }>;
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    throw cellarError("INVALID_ARGUMENT", "An admin request is one line of JSON");
  }
  if (request?.op === "ping") return { op: "ping" };
  if (request?.op !== "backup") throw cellarError("INVALID_ARGUMENT", `Unknown admin request ${JSON.stringify(request?.op)}`);
  // The server's working directory is not the caller's: a relative path would mean another place.
  if (typeof request.dest !== "string" || !isAbsolute(request.dest)) throw cellarError("INVALID_ARGUMENT", "backup: dest must be an absolute path");
  if (request.timeoutMs !== undefined && typeof request.timeoutMs !== "number") throw cellarError("INVALID_ARGUMENT", "backup: timeoutMs must be a number");
  return { op: "backup", dest: request.dest, timeoutMs: request.timeoutMs };
}

/** Sends one request to the server running on `dataDir`; undefined when none listens there. */
export function askServer(dataDir: string, request: AdminRequest): Promise<AdminAnswer | undefined> {
  return new Promise((done, fail) => {
    const socket = createConnection(adminSocketPath(dataDir));
    let text = "";
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on("data", (chunk: string) => (text += chunk));
    socket.once("end", () => {
      try {
        done(JSON.parse(text) as AdminAnswer);
      } catch {
        fail(cellarError("INTERNAL_ERROR", `The server on "${dataDir}" closed its admin socket without an answer`));
      }
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      // No socket file, or one a stopped server left behind: no server listens.
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") done(undefined);
      else if (error.code === "EACCES" || error.code === "EPERM") {
        fail(cellarError("DATA_DIR_IN_USE", `The server on "${dataDir}" runs as another user: its admin socket refused this one`));
      } else fail(error);
    });
  });
}
