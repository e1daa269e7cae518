import { WebSocket } from "ws";

/**
 * Load-generator clients: raw `ws` sockets speaking Cellar's wire protocol (hello →
 * welcome, then `emit`/`req` frames). Far cheaper per frame than `CellarClient`, so the
 * generator stays ahead of the server.
 */

const HELLO = JSON.stringify({ t: "hello", v: 1 });
const WELCOME_PREFIX = '{"t":"welcome"';

/** Opens one socket and completes the handshake. */
export function openClient(url: string, timeoutMs = 20_000): Promise<WebSocket> {
  // Incoming text is counted, not read: skipping UTF-8 validation keeps the generator cheap.
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`no welcome from ${url} within ${timeoutMs} ms`)), timeoutMs);
    ws.once("error", fail);
    ws.once("close", (code) => fail(new Error(`${url} closed (${code}) before welcome`)));
    ws.once("open", () => ws.send(HELLO));
    ws.once("message", (data: Buffer) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on("error", () => {});
      if (!data.toString("latin1", 0, WELCOME_PREFIX.length).startsWith(WELCOME_PREFIX)) {
        ws.terminate();
        return reject(new Error(`${url}: expected welcome, got ${data.toString().slice(0, 200)}`));
      }
      resolve(ws);
    });
  });
}

/** Opens one client per URL, `concurrency` handshakes at a time; results are in URL order. */
export async function openClients(urls: readonly string[], concurrency = 200): Promise<WebSocket[]> {
  const clients = new Array<WebSocket>(urls.length);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      clients[i] = await openClient(urls[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
  return clients;
}

/** Cuts the sockets and waits until each has closed. */
export async function closeClients(clients: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.removeAllListeners("message");
          ws.once("close", () => resolve());
          ws.terminate();
        }),
    ),
  );
}

/** A request frame: `{"t":"req","id":…,"event":…,"data":…}` built by concatenation. */
export function requestFrame(id: number, event: string, dataJson: string): string {
  return `{"t":"req","id":${id},"event":"${event}","data":${dataJson}}`;
}

export function isAck(frame: Buffer): boolean {
  return frame.toString("latin1", 0, 10) === '{"t":"ack"';
}
