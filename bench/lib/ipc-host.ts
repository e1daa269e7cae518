/**
 * Child side of the benchmark's server processes: answers the parent's commands over the
 * IPC channel `fork` opens. Every server child gets the same base commands, so the parent
 * can read its CPU time and heap the same way whatever server it runs.
 */

import { writeHeapSnapshot } from "node:v8";

export type Command = (args: any) => unknown;

export interface HostHooks {
  /** Extra commands of this server (hibernate, populate…). */
  commands?: Record<string, Command>;
  /** Closes the server before the process exits (so `--cpu-prof` gets written). */
  close(): Promise<void>;
}

interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Full collections until the heap stops shrinking much; weak callbacks get a turn in between. */
async function settledHeap(): Promise<number> {
  if (!gc) throw new Error("heap readings need --expose-gc in the server process");
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const used = process.memoryUsage().heapUsed;
    if (Math.abs(last - used) < 4096) return used;
    last = used;
  }
  return last;
}

/** Serves the parent's commands and announces the server's base WebSocket URL. */
export function serve(baseUrl: string, hooks: HostHooks): void {
  const base: Record<string, Command> = {
    cpu: () => {
      const { user, system } = process.cpuUsage();
      return user + system;
    },
    /** CPU by part; a Node server has one, itself (the workerd host overrides this). */
    cpuParts: () => {
      const { user, system } = process.cpuUsage();
      return { process: user + system };
    },
    heap: () => settledHeap(),
    /** For diagnosis: writes a V8 heap snapshot (after a full GC) to `path`. */
    heapSnapshot: async ({ path }: { path: string }) => {
      await settledHeap();
      return writeHeapSnapshot(path);
    },
    exit: async () => {
      await hooks.close();
      // Replying first lets the parent stop waiting; exit runs once the reply is flushed.
      setImmediate(() => process.exit(0));
    },
  };
  const commands = { ...base, ...hooks.commands };
  process.on("message", async (message: Request) => {
    const command = commands[message.cmd];
    try {
      if (!command) throw new Error(`unknown command ${message.cmd}`);
      const value = await command(message.args);
      process.send!({ id: message.id, ok: true, value });
    } catch (error) {
      process.send!({ id: message.id, ok: false, error: error instanceof Error ? error.stack : String(error) });
    }
  });
  process.send!({ ready: true, url: baseUrl });
}
