import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CellarClient } from "cellar/client";
import { startServerProcess, startTestServer, tempDataDir, type ServerProcess, type TestServer } from "cellar/testing";
import { backupStoppedDataDir } from "../src/node/backup/offline-backup.js";
import { runCli } from "../src/node/cli/run.js";
import { rooms } from "./fixtures/backup-rooms.js";
import { expectLedger, LedgerLoad } from "./helpers/ledger-load.js";

/*
 * The `cellar` command (src/node/cli/) run as a process, as `npx cellar` runs it, against
 * servers running in processes of their own (test/fixtures/backup-server.ts) and data
 * directories no server holds.
 */

const cli = fileURLToPath(new URL("../src/node/cli/main.ts", import.meta.url));
const serverScript = fileURLToPath(new URL("./fixtures/backup-server.ts", import.meta.url));

let processes: ServerProcess[] = [];
let servers: TestServer[] = [];
let clients: CellarClient[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  for (const p of processes) await p.kill("SIGKILL");
  for (const t of servers) await t.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  processes = [];
  servers = [];
  clients = [];
  dirs = [];
});

/** A path in a fresh temporary directory, not yet made. */
function freshPath(name: string): string {
  const dir = tempDataDir("cellar-cli-");
  dirs.push(dir);
  return join(dir, name);
}

/** Runs `cellar <args>` in a process of its own (from the TypeScript sources, as the tests do). */
function cellar(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** Runs the command in this process: the code `npx cellar` runs, without starting a process. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { out: (line) => (out += `${line}\n`), err: (line) => (err += `${line}\n`) });
  return { code, out, err };
}

async function boot(dataDir: string): Promise<ServerProcess> {
  const p = await startServerProcess({ script: serverScript, env: { DATA_DIR: dataDir }, execArgv: ["--conditions=source", "--import", "tsx"] });
  processes.push(p);
  return p;
}

async function connect(server: ServerProcess, kind: string, id: string): Promise<CellarClient> {
  const client = server.client(kind, id);
  clients.push(client);
  await client.waitForConnection();
  return client;
}

/** A stopped data directory with ledger writes 1..5 in rooms "a" and "b". */
async function stoppedDataDir(): Promise<string> {
  const dataDir = freshPath("data");
  const t = await startTestServer({ rooms, dataDir });
  for (const id of ["a", "b"]) {
    const client = await t.connect("ledger", id);
    for (let n = 1; n <= 5; n++) await client.request("add", n);
  }
  await t.close();
  return dataDir;
}

/** Entries next to `path` left by a backup or restore (their hidden staging directories). */
function stagingLeft(path: string): string[] {
  return readdirSync(dirname(path)).filter((f) => f.startsWith("."));
}

describe("cellar backup and cellar restore", () => {
  it("backs up a running server under load through its admin socket; restore puts back every acknowledged write", async () => {
    const dataDir = freshPath("data");
    const server = await boot(dataDir);
    const load = new LedgerLoad();
    const ids = ["a", "b", "c", "d"];
    for (const id of ids) load.write(id, await connect(server, "ledger", id));
    await vi.waitFor(() => expect(load.total()).toBeGreaterThan(200), { timeout: 20_000, interval: 5 });

    const before = load.snapshot();
    const dest = freshPath("backup");
    const backup = await cellar("backup", dataDir, dest);
    expect(backup.stderr).toBe("");
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^Backed up .* \(taken by the server running on it\): 5 database files/);
    expect(stagingLeft(dest)).toEqual([]);

    // Not while it runs, not even with --force.
    expect(await run("restore", dest, dataDir)).toMatchObject({ code: 1, err: expect.stringContaining("DATA_DIR_IN_USE") });
    expect(await run("restore", dest, dataDir, "--force")).toMatchObject({ code: 1, err: expect.stringContaining("DATA_DIR_IN_USE") });
    await load.stop();
    await server.kill("SIGKILL");

    const restoredDir = freshPath("restored");
    const restore = await cellar("restore", dest, restoredDir);
    expect(restore.stderr).toBe("");
    expect(restore.code).toBe(0);
    expect(restore.stdout).toContain("each passed PRAGMA integrity_check");
    const again = await boot(restoredDir);
    for (const id of ids) await expectLedger(await connect(again, "ledger", id), before.get(id)!, load.sent.get(id)!);
  }, 60_000);

  it("copies the directory itself when no server runs on it, here after a crash", async () => {
    const dataDir = freshPath("data");
    const server = await boot(dataDir);
    const acked = new Set<number>();
    const client = await connect(server, "ledger", "a");
    for (let n = 1; n <= 20; n++) {
      await client.request("add", n);
      acked.add(n);
    }
    await server.kill("SIGKILL");

    const dest = freshPath("backup");
    const backup = await cellar("backup", dataDir, dest);
    expect([backup.code, backup.stderr]).toEqual([0, ""]);
    expect(backup.stdout).toContain("(no server was running on it)");
    const restoredDir = freshPath("restored");
    expect((await cellar("restore", dest, restoredDir)).code).toBe(0);
    const again = await boot(restoredDir);
    await expectLedger(await connect(again, "ledger", "a"), acked, acked);
  }, 60_000);

  it("refuses a server it cannot ask (no admin socket), and leaves nothing behind", async () => {
    const dataDir = freshPath("data");
    const t = await startTestServer({ rooms, dataDir, adminSocket: false });
    servers.push(t);
    await (await t.connect("ledger", "a")).request("add", 1);
    const dest = freshPath("backup");
    const backup = await cellar("backup", dataDir, dest);
    expect(backup.code).toBe(1);
    expect(backup.stderr).toContain("DATA_DIR_IN_USE");
    expect(backup.stderr).toContain("admin socket");
    expect(existsSync(dest)).toBe(false);
    expect(stagingLeft(dest)).toEqual([]);
  });
});

describe("cellar restore refuses what it should, and changes nothing then", () => {
  it("a data directory that is not empty, unless --force", async () => {
    const backupDir = freshPath("backup");
    await backupStoppedDataDir(await stoppedDataDir(), backupDir);
    const target = freshPath("target");
    mkdirSync(target);
    writeFileSync(join(target, "notes.txt"), "precious");

    const refused = await cellar("restore", backupDir, target);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("DIRECTORY_NOT_EMPTY");
    expect(readdirSync(target)).toEqual(["notes.txt"]);
    expect(stagingLeft(target)).toEqual([]);

    const forced = await cellar("restore", backupDir, target, "--force");
    expect([forced.code, forced.stderr]).toEqual([0, ""]);
    expect(forced.stdout).toContain("replacing what was there");
    expect(readdirSync(target).sort()).toEqual(["cellar.db", "sql"]);
    expect(stagingLeft(target)).toEqual([]);
  });

  it("a directory that is not a complete backup, or whose databases are damaged", async () => {
    const dataDir = await stoppedDataDir();
    const target = freshPath("target");

    const noManifest = await cellar("restore", dataDir, target);
    expect(noManifest.code).toBe(1);
    expect(noManifest.stderr).toContain("BACKUP_INVALID");
    expect(noManifest.stderr).toContain("cellar-backup.json");

    const missing = freshPath("missing-file");
    await backupStoppedDataDir(dataDir, missing);
    const [sqlFile] = (JSON.parse(readFileSync(join(missing, "cellar-backup.json"), "utf8")) as { files: string[] }).files.slice(1);
    rmSync(join(missing, sqlFile!));
    expect((await cellar("restore", missing, target)).stderr).toContain(`BACKUP_INVALID: "${missing}" is not a complete Cellar backup: ${sqlFile} is missing`);

    const damaged = freshPath("damaged");
    await backupStoppedDataDir(dataDir, damaged);
    truncateSync(join(damaged, "cellar.db"), 4096 + 100);
    const corrupt = await cellar("restore", damaged, target);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain("BACKUP_INVALID: cellar.db in the backup");

    expect(existsSync(target)).toBe(false);
    expect(stagingLeft(target)).toEqual([]);
  });
});

describe("cellar refuses bad arguments and changes nothing", () => {
  it("exits with 2 and the usage for a command line that does not parse", async () => {
    const spawned = await cellar("backup", "only-one");
    expect(spawned.code).toBe(2);
    expect(spawned.stderr).toContain("INVALID_ARGUMENT: backup takes <dataDir> <dest>");
    expect(spawned.stderr).toContain("Usage:");

    expect(await run()).toMatchObject({ code: 2, err: expect.stringContaining("a command is missing") });
    expect(await run("bakup", "a", "b")).toMatchObject({ code: 2, err: expect.stringContaining(`unknown command "bakup"`) });
    expect(await run("backup", "a", "b", "--force")).toMatchObject({ code: 2, err: expect.stringContaining("--force") });
    expect(await run("restore", "a", "b", "c")).toMatchObject({ code: 2, err: expect.stringContaining("restore takes <backupDir> <dataDir>") });
    expect(await run("restore", "a", "b", "--forse")).toMatchObject({ code: 2, err: expect.stringContaining("--forse") });
    expect(await run("help")).toMatchObject({ code: 0, out: expect.stringContaining("cellar backup <dataDir> <dest>") });
  });

  it("refuses a source or destination that cannot be right, before touching anything", async () => {
    const dataDir = await stoppedDataDir();
    const listing = () => readdirSync(dataDir).sort();
    const before = listing();

    const notData = freshPath("empty");
    mkdirSync(notData);
    const dest = freshPath("backup");
    expect(await run("backup", notData, dest)).toMatchObject({ code: 2, err: expect.stringContaining("is not a Cellar data directory") });
    expect(await run("backup", dataDir, join(dataDir, "inside"))).toMatchObject({ code: 2, err: expect.stringContaining("inside the data directory") });
    expect(await run("backup", dataDir, join(dest, "no", "parent"))).toMatchObject({ code: 2, err: expect.stringContaining("does not exist") });
    const full = freshPath("full");
    mkdirSync(full);
    writeFileSync(join(full, "keep.txt"), "mine");
    expect(await run("backup", dataDir, full)).toMatchObject({ code: 1, err: expect.stringContaining("DIRECTORY_NOT_EMPTY") });
    expect(readdirSync(full)).toEqual(["keep.txt"]);
    expect(existsSync(dest)).toBe(false);

    expect(await run("restore", freshPath("nothing"), freshPath("target"))).toMatchObject({ code: 2, err: expect.stringContaining("is not a directory") });
    const backupDir = freshPath("good");
    await backupStoppedDataDir(dataDir, backupDir);
    expect(await run("restore", backupDir, join(backupDir, "sql"))).toMatchObject({ code: 2, err: expect.stringContaining("inside it") });
    expect(listing()).toEqual(before);
  });
});
