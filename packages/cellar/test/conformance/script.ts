/*
 * Drives the `box` room of rooms.ts: each request runs a script of storage, SQL and KV
 * operations in one handler, so a script is also one commit (all or nothing).
 */
import { expect } from "vitest";
import type { CellarClient } from "cellar/client";
import type { StorageLimitName } from "cellar";
import type { Op } from "./rooms.js";

/** Runs `ops` in one handler of the client's instance and resolves with each op's result. */
export function script(client: CellarClient): (...ops: Op[]) => Promise<any[]> {
  return (...ops) => client.request("run", ops) as Promise<any[]>;
}

/** Runs one op and resolves with its result. */
export function single(client: CellarClient): (op: Op) => Promise<any> {
  return async (op) => ((await client.request("run", [op])) as unknown[])[0];
}

/** The error a client receives for a call that passed storage limit `limit`. */
export function limitError(limit: StorageLimitName): unknown {
  return expect.objectContaining({ code: "STORAGE_LIMIT", message: expect.stringMatching(new RegExp(`^${limit}:`)) });
}
