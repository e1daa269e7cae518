/*
 * Raw sockets (`ws`, speaking the protocol by hand) for the bad-input tests: closed after
 * each test, and every frame they received checked for leaked internals.
 */
import { afterEach } from "vitest";
import { closeSockets, expectNoLeak, RawSocket } from "../helpers/raw-socket.js";

export function useRawSockets(): { open(url: string): Promise<RawSocket>; connect(url: string, params?: Record<string, unknown>): Promise<RawSocket> } {
  const sockets: RawSocket[] = [];
  afterEach(() => {
    for (const frame of closeSockets(sockets)) expectNoLeak(frame);
  });
  const keep = (socket: RawSocket) => (sockets.push(socket), socket);
  return {
    open: async (url) => keep(await RawSocket.open(url)),
    connect: async (url, params) => keep(await RawSocket.connect(url, params)),
  };
}
