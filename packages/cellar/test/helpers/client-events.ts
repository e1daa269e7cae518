import type { CellarClient } from "cellar/client";

/** Every payload of `event` the client fires from now on. */
export function record<T = any>(client: CellarClient, event: string): T[] {
  const seen: T[] = [];
  client.on(event, (data: T) => seen.push(data));
  return seen;
}

/** The next `event`; fails (instead of hanging) when it does not come in time. */
export function next<T = any>(client: CellarClient, event: string, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (data: T) => {
      clearTimeout(timer);
      client.off(event, listener);
      resolve(data);
    };
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms (state ${client.state})`));
    }, timeoutMs);
    client.on(event, listener);
  });
}
